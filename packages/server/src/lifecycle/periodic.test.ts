import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PeriodicTask } from './periodic.ts';

function deferred() {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('PeriodicTask', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('runs every interval, not at start unless asked', async () => {
    let runs = 0;
    const task = new PeriodicTask({ name: 'tick', everyMs: 100, log: () => {}, run: async () => void (runs += 1) });
    task.start();
    task.start(); // a second start does not double the schedule
    expect(runs).toBe(0);
    await vi.advanceTimersByTimeAsync(99);
    expect(runs).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(300);
    expect(runs).toBe(4);
    await task.stop();
  });

  it('runs once at start with runAtStart', async () => {
    let runs = 0;
    const task = new PeriodicTask({
      name: 'tick',
      everyMs: 100,
      runAtStart: true,
      log: () => {},
      run: async () => void (runs += 1),
    });
    task.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(100);
    expect(runs).toBe(2);
    await task.stop();
  });

  it('never overlaps itself: a run longer than the interval delays the next', async () => {
    let active = 0;
    let maxActive = 0;
    const pending: Array<() => void> = [];
    const task = new PeriodicTask({
      name: 'slow',
      everyMs: 10,
      log: () => {},
      run: async () => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        const d = deferred();
        pending.push(d.resolve);
        await d.promise;
        active -= 1;
      },
    });
    task.start();
    await vi.advanceTimersByTimeAsync(10);
    expect(pending).toHaveLength(1);
    // Ten intervals pass while the first run is still going: no second run starts.
    await vi.advanceTimersByTimeAsync(100);
    expect(pending).toHaveLength(1);
    // A manual trigger joins the run in flight instead of starting another.
    const joined = task.runNow();
    expect(pending).toHaveLength(1);
    pending[0]!();
    await joined;
    // The next run comes one interval after the previous one ended, not at once.
    await vi.advanceTimersByTimeAsync(9);
    expect(pending).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(pending).toHaveLength(2);
    pending[1]!();
    expect(maxActive).toBe(1);
    await task.stop();
  });

  it('logs a failed run with its name and keeps the schedule going', async () => {
    const lines: string[] = [];
    let runs = 0;
    const task = new PeriodicTask({
      name: 'catalog refresh',
      everyMs: 50,
      log: (line) => void lines.push(line),
      run: async () => {
        runs += 1;
        if (runs === 1) throw new Error('git fetch failed');
        if (runs === 2) throw 'not an Error';
      },
    });
    task.start();
    await vi.advanceTimersByTimeAsync(150);
    expect(runs).toBe(3);
    expect(lines).toEqual([
      'warning: catalog refresh failed: git fetch failed',
      'warning: catalog refresh failed: not an Error',
    ]);
    await task.stop();
  });

  it('survives a run that throws synchronously and a log that throws', async () => {
    let runs = 0;
    const task = new PeriodicTask({
      name: 'sync',
      everyMs: 20,
      log: () => {
        throw new Error('log is broken');
      },
      run: () => {
        runs += 1;
        throw new Error('sync failure');
      },
    });
    task.start();
    await vi.advanceTimersByTimeAsync(60);
    expect(runs).toBe(3);
    await expect(task.runNow()).resolves.toBeUndefined();
    await task.stop();
  });

  it('stop clears the timer and waits for the run in flight', async () => {
    let runs = 0;
    const gate = deferred();
    let finished = false;
    const task = new PeriodicTask({
      name: 'in-flight',
      everyMs: 10,
      log: () => {},
      run: async () => {
        runs += 1;
        await gate.promise;
        finished = true;
      },
    });
    task.start();
    await vi.advanceTimersByTimeAsync(10);
    expect(runs).toBe(1);
    let stopped = false;
    const stopping = task.stop().then(() => (stopped = true));
    await vi.advanceTimersByTimeAsync(0);
    expect(stopped).toBe(false);
    gate.resolve();
    await stopping;
    expect(finished).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs).toBe(1);
    task.start(); // a stopped task stays stopped
    await vi.advanceTimersByTimeAsync(1000);
    expect(runs).toBe(1);
  });

  it('stop before the first run leaves no timer', async () => {
    let runs = 0;
    const task = new PeriodicTask({ name: 'never', everyMs: 10, log: () => {}, run: async () => void (runs += 1) });
    task.start();
    expect(vi.getTimerCount()).toBe(1);
    await task.stop();
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(100);
    expect(runs).toBe(0);
  });

  it('refuses an interval that is not a positive number', () => {
    for (const everyMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => new PeriodicTask({ name: 'bad', everyMs, log: () => {}, run: async () => {} })).toThrow(RangeError);
    }
  });
});

describe('PeriodicTask timer', () => {
  it("is unref'd, so a scheduled task never keeps the process alive", async () => {
    const task = new PeriodicTask({ name: 'idle', everyMs: 60_000, log: () => {}, run: async () => {} });
    task.start();
    const timer = (task as unknown as { timer: NodeJS.Timeout | null }).timer;
    expect(timer).not.toBeNull();
    expect(timer!.hasRef()).toBe(false);
    await task.stop();
  });
});
