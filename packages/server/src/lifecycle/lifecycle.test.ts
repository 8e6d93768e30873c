import { describe, expect, it } from 'vitest';
import { Lifecycle } from './lifecycle.ts';

function recorder() {
  const lines: string[] = [];
  return { lines, log: (line: string) => void lines.push(line) };
}

describe('Lifecycle', () => {
  it('stops components in the reverse of the order they registered in', async () => {
    const { log } = recorder();
    const lifecycle = new Lifecycle({ log });
    const stopped: string[] = [];
    for (const name of ['store', 'catalog', 'environments', 'http']) {
      lifecycle.register(name, async () => {
        await Promise.resolve();
        stopped.push(name);
      });
    }
    expect(lifecycle.names).toEqual(['store', 'catalog', 'environments', 'http']);
    expect(await lifecycle.stopAll()).toEqual([]);
    expect(stopped).toEqual(['http', 'environments', 'catalog', 'store']);
  });

  it('waits for one stop to finish before starting the next', async () => {
    const lifecycle = new Lifecycle({ log: () => {} });
    const events: string[] = [];
    let release!: () => void;
    lifecycle.register('first', () => void events.push('first'));
    lifecycle.register('second', async () => {
      events.push('second:begin');
      await new Promise<void>((r) => (release = r));
      events.push('second:end');
    });
    const done = lifecycle.stopAll();
    await expect.poll(() => events).toEqual(['second:begin']);
    release();
    await done;
    expect(events).toEqual(['second:begin', 'second:end', 'first']);
  });

  it('is idempotent: a second stopAll stops nothing again and gives the same result', async () => {
    const lifecycle = new Lifecycle({ log: () => {} });
    let calls = 0;
    lifecycle.register('a', () => void (calls += 1));
    lifecycle.register('b', () => {
      throw new Error('boom');
    });
    const first = lifecycle.stopAll();
    const second = lifecycle.stopAll();
    expect(second).toBe(first);
    await first;
    const third = await lifecycle.stopAll();
    expect(calls).toBe(1);
    expect(third.map((f) => f.name)).toEqual(['b']);
    expect(lifecycle.stopped).toBe(true);
  });

  it('goes on after a failing stop (thrown or rejected) and reports each failure by name', async () => {
    const { lines, log } = recorder();
    const lifecycle = new Lifecycle({ log });
    const stopped: string[] = [];
    lifecycle.register('store', () => void stopped.push('store'));
    lifecycle.register('redis', () => Promise.reject(new Error('connection reset')));
    lifecycle.register('catalog', () => void stopped.push('catalog'));
    lifecycle.register('proxy', () => {
      throw new Error('not listening');
    });
    lifecycle.register('http', () => void stopped.push('http'));
    const failures = await lifecycle.stopAll();
    expect(stopped).toEqual(['http', 'catalog', 'store']);
    expect(failures.map((f) => [f.name, f.error.message])).toEqual([
      ['proxy', 'not listening'],
      ['redis', 'connection reset'],
    ]);
    expect(lines).toEqual([
      'warning: stopping proxy failed: not listening',
      'warning: stopping redis failed: connection reset',
    ]);
  });

  it('bounds each stop by the timeout: a hanging component does not keep the others from stopping', async () => {
    const { lines, log } = recorder();
    const lifecycle = new Lifecycle({ log, stopTimeoutMs: 30 });
    const stopped: string[] = [];
    lifecycle.register('store', () => void stopped.push('store'));
    lifecycle.register('hangs', () => new Promise<void>(() => {}));
    lifecycle.register('http', () => void stopped.push('http'));
    const failures = await lifecycle.stopAll();
    expect(stopped).toEqual(['http', 'store']);
    expect(failures).toHaveLength(1);
    expect(failures[0]!.name).toBe('hangs');
    expect(failures[0]!.error.message).toMatch(/did not stop within 30 ms/);
    expect(lines).toEqual([expect.stringMatching(/^warning: stopping hangs failed: did not stop within 30 ms/)]);
  });

  it('lets a component ask for a longer bound than the default', async () => {
    const lifecycle = new Lifecycle({ log: () => {}, stopTimeoutMs: 10 });
    let release!: () => void;
    lifecycle.register('slow', () => new Promise<void>((r) => (release = r)), { timeoutMs: 60_000 });
    lifecycle.register('hangs', () => new Promise<void>(() => {}));
    const done = lifecycle.stopAll();
    await expect.poll(() => release).toBeTypeOf('function');
    release();
    const failures = await done;
    expect(failures.map((f) => f.name)).toEqual(['hangs']);
  });

  it('stops a component registered after stopAll began at once', async () => {
    const { lines, log } = recorder();
    const lifecycle = new Lifecycle({ log });
    await lifecycle.stopAll();
    let stopped = false;
    lifecycle.register('late', () => void (stopped = true));
    await expect.poll(() => stopped).toBe(true);
    lifecycle.register('late-failing', () => Promise.reject(new Error('nope')));
    await expect.poll(() => lines).toEqual(['warning: stopping late-failing failed: nope']);
  });
});
