import { describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { watch } from './poll.ts';

const unreachable = () => new IdpError('SERVER_UNREACHABLE', 'cannot reach the control plane');

/** A read that answers `answers` in turn (an Error is thrown), then repeats the last one. */
function reads<T>(answers: (T | Error)[]): { read: () => Promise<T>; count: () => number } {
  let calls = 0;
  return {
    read: async () => {
      const answer = answers[Math.min(calls++, answers.length - 1)]!;
      if (answer instanceof Error) throw answer;
      return answer;
    },
    count: () => calls,
  };
}

describe('watch', () => {
  it('reads until `until` holds, reporting every read, and resolves with the last', async () => {
    const source = reads(['provisioning', 'provisioning', 'ready', 'deleted']);
    const seen: string[] = [];

    const result = await watch(source.read, { until: (s) => s === 'ready', onUpdate: (s) => seen.push(s) }, 1);

    expect(result).toBe('ready');
    expect(seen).toEqual(['provisioning', 'provisioning', 'ready']);
    expect(source.count()).toBe(3);
  });

  it('ends at once on an API error', async () => {
    const denied = new IdpError('POLICY_DENIED', 'denied');
    const source = reads<string>(['provisioning', denied]);

    await expect(watch(source.read, { until: () => false }, 1)).rejects.toBe(denied);
    expect(source.count()).toBe(2);
  });

  it('rides out an unreachable control plane within the grace period', async () => {
    const source = reads<string>(['provisioning', unreachable(), unreachable(), 'ready']);
    const seen: string[] = [];

    const result = await watch(
      source.read,
      { until: (s) => s === 'ready', onUpdate: (s) => seen.push(s), unreachableGraceMs: 10_000 },
      1,
    );

    expect(result).toBe('ready');
    expect(seen).toEqual(['provisioning', 'ready']);
  });

  it('gives up with SERVER_UNREACHABLE once the grace period is over', async () => {
    const source = reads<string>([unreachable()]);

    await expect(watch(source.read, { until: () => true, unreachableGraceMs: 20 }, 5)).rejects.toMatchObject({
      code: 'SERVER_UNREACHABLE',
    });
    expect(source.count()).toBeGreaterThan(1);
  });

  it('stops when its signal aborts, between two reads', async () => {
    const source = reads(['provisioning']);
    const controller = new AbortController();
    const stopped = new Error('stopped');

    const watching = watch(
      source.read,
      { until: () => false, onUpdate: () => controller.abort(stopped), signal: controller.signal },
      60_000,
    );

    await expect(watching).rejects.toBe(stopped);
    expect(source.count()).toBe(1);
  });
});
