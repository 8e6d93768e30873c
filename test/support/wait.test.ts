import { describe, expect, it } from 'vitest';
import { GiveUp, holdsFor, waitUntil } from './wait.ts';

describe('waitUntil', () => {
  it('returns the first value that is not undefined, null or false', async () => {
    let calls = 0;
    const value = await waitUntil('the third call', () => (++calls >= 3 ? { calls } : false), { interval: 5 });
    expect(value).toEqual({ calls: 3 });
  });

  it('times out with what it waited for and the last reason a check gave', async () => {
    const err = await waitUntil(
      'a thing',
      async () => {
        throw new Error('status provisioning');
      },
      { timeout: 200, interval: 10 },
    ).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).message).toMatch(/^timed out after 200 ms waiting for a thing: status provisioning$/);
  });

  it('stops at once when a check gives up', async () => {
    const started = Date.now();
    let calls = 0;
    await expect(
      waitUntil(
        'never',
        () => {
          if (++calls === 2) throw new GiveUp('ended early');
          return undefined;
        },
        { timeout: 30_000, interval: 5 },
      ),
    ).rejects.toThrow(/^ended early$/);
    expect(calls).toBe(2);
    expect(Date.now() - started).toBeLessThan(10_000);
  });
});

describe('holdsFor', () => {
  it('checks for the whole window, and at its end', async () => {
    const started = Date.now();
    let calls = 0;
    await holdsFor(200, () => calls++, 20);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(calls).toBeGreaterThanOrEqual(3);
  });

  it('fails at the first check that throws', async () => {
    let n = 0;
    await expect(
      holdsFor(
        10_000,
        () => {
          if (++n === 3) throw new Error('changed');
        },
        5,
      ),
    ).rejects.toThrow('changed');
    expect(n).toBe(3);
  });
});
