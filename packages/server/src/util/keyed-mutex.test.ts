import { describe, expect, it } from 'vitest';
import { KeyedMutex } from './keyed-mutex.ts';

/** A promise the test settles by hand, so the order of events is decided here, not by timers. */
function gate<T = void>() {
  let resolve!: (value: T) => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('KeyedMutex', () => {
  it('runs the tasks of one key one at a time, in order', async () => {
    const mutex = new KeyedMutex();
    const events: string[] = [];
    const first = gate();
    const a = mutex.run('k', async () => {
      events.push('a:start');
      await first.promise;
      events.push('a:end');
      return 'a';
    });
    const b = mutex.run('k', async () => {
      events.push('b:start');
      return 'b';
    });
    await expect.poll(() => events).toEqual(['a:start']);
    // b has had every chance to start: it must still wait for a.
    await new Promise((r) => setImmediate(r));
    expect(events).toEqual(['a:start']);
    first.resolve();
    expect(await Promise.all([a, b])).toEqual(['a', 'b']);
    expect(events).toEqual(['a:start', 'a:end', 'b:start']);
  });

  it('runs tasks of different keys side by side', async () => {
    const mutex = new KeyedMutex();
    const held = gate();
    const started: string[] = [];
    const a = mutex.run('a', async () => {
      started.push('a');
      await held.promise;
    });
    const b = mutex.run('b', async () => {
      started.push('b');
      await held.promise;
    });
    // Both run while the other is still holding its key.
    await expect.poll(() => started.sort()).toEqual(['a', 'b']);
    held.resolve();
    await Promise.all([a, b]);
  });

  it('releases the key when a task rejects or throws, and gives the caller the error', async () => {
    const mutex = new KeyedMutex();
    const failing = mutex.run('k', () => Promise.reject(new Error('boom')));
    const throwing = mutex.run('k', () => {
      throw new Error('sync boom');
    });
    const next = mutex.run('k', () => Promise.resolve('after'));
    await expect(failing).rejects.toThrow('boom');
    await expect(throwing).rejects.toThrow('sync boom');
    expect(await next).toBe('after');
  });

  it('forgets a key once its last task settles', async () => {
    const mutex = new KeyedMutex();
    const held = gate();
    const tasks = [
      mutex.run('a', () => held.promise),
      mutex.run('a', () => Promise.resolve()),
      mutex.run('b', () => Promise.reject(new Error('x'))),
    ];
    expect(mutex.size).toBe(2);
    held.resolve();
    await Promise.allSettled(tasks);
    await expect.poll(() => mutex.size).toBe(0);
  });

  it('idle waits for what is queued under the key, and is immediate when nothing is', async () => {
    const mutex = new KeyedMutex();
    await mutex.idle('none');
    const held = gate();
    let done = false;
    void mutex.run('k', async () => {
      await held.promise;
      done = true;
    });
    const idle = mutex.idle('k');
    held.resolve();
    await idle;
    expect(done).toBe(true);
  });
});
