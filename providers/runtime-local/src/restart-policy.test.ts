import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { ManualTimers } from './clock.ts';
import { backoffDelay, CrashLoopDetector } from './restart-policy.ts';
import { ReleaseProcesses } from './supervisor.ts';
import type { SupervisorEvent } from './supervisor-types.ts';
import { httpRequest, SERVICE_SOURCE, tempDir, type TempDir } from './test-helpers.ts';

// The restart policy beyond its defaults (supervisor.test.ts checks those): configured delays,
// the sliding crash-loop window, and the supervisor applying the reset rule to a real process
// on a manual clock, so "ran for 10 s" takes no 10 s.

describe('restart policy (pure)', () => {
  it('backoff follows the configured start and cap, never below the start nor above the cap', () => {
    const opts = { initialMs: 250, maxMs: 3000, resetAfterMs: 60_000 };
    expect([0, 1, 2, 3, 4, 5, 50, Number.MAX_SAFE_INTEGER].map((n) => backoffDelay(n, opts))).toEqual([
      250, 250, 500, 1000, 2000, 3000, 3000, 3000,
    ]);
    // A cap below the start wins: the delay is never longer than maxMs.
    expect(backoffDelay(1, { initialMs: 500, maxMs: 200, resetAfterMs: 1 })).toBe(200);
  });

  it('the crash-loop window slides: an exit exactly windowMs old no longer counts', () => {
    let now = 0;
    const detector = new CrashLoopDetector({ maxExits: 2, windowMs: 1000 }, () => now);
    expect(detector.recordExit()).toBe(false);
    expect(detector.recentExits).toBe(1);
    now = 999;
    expect(detector.recentExits).toBe(1);
    now = 1000;
    expect(detector.recentExits).toBe(0);
    expect(detector.recordExit()).toBe(false);
    now = 1500;
    expect(detector.recordExit()).toBe(true);
    expect(detector.recentExits).toBe(2);
    now = 5000;
    expect(detector.recentExits).toBe(0);
    expect(detector.recordExit()).toBe(false);
  });
});

describe('the supervisor applies the restart policy to a real process (manual clock)', () => {
  let tmp: TempDir;
  let group: ReleaseProcesses | undefined;

  beforeAll(() => {
    tmp = tempDir();
    tmp.write('server.cjs', SERVICE_SOURCE);
  });
  afterAll(async () => {
    await group?.stop(500);
    tmp.remove();
  });

  it('doubles the delay over quick crashes, and starts again from the first delay after a long enough run', async () => {
    const timers = new ManualTimers();
    const events: SupervisorEvent[] = [];
    group = await ReleaseProcesses.start(
      { release: 'svc@backoff', command: 'node server.cjs', cwd: tmp.dir, replicas: 1, logDir: join(tmp.dir, 'logs') },
      {
        timers,
        backoff: { initialMs: 100, maxMs: 10_000, resetAfterMs: 10_000 },
        crashLoop: { maxExits: 100, windowMs: 10_000 },
        onEvent: (event) => events.push(event),
        stopGraceMs: 2000,
      },
    );
    const g = group;
    /** Lets manual time pass in 50 ms steps (restart timers, readiness probes) until `ok`. */
    const until = (ok: () => boolean) =>
      vi.waitFor(
        () => {
          timers.advance(50);
          expect(ok()).toBe(true);
        },
        { timeout: 15_000, interval: 10 },
      );
    const replica = () => g.replicas()[0]!;
    const crash = async (restarts: number) => {
      process.kill(replica().pid!, 'SIGKILL');
      await vi.waitFor(() => expect(events.filter((e) => e.type === 'exited')).toHaveLength(restarts + 1), {
        timeout: 10_000,
        interval: 10,
      });
      const exited = events.filter((e) => e.type === 'exited').at(-1)!;
      await until(() => replica().restarts === restarts + 1 && replica().status === 'ready');
      return exited;
    };

    await until(() => replica().status === 'ready');
    expect((await crash(0)).restartInMs).toBe(100);
    expect((await crash(1)).restartInMs).toBe(200);
    expect((await crash(2)).restartInMs).toBe(400);
    // A restart waits for its delay: nothing is started again before it is due.
    process.kill(replica().pid!, 'SIGKILL');
    await vi.waitFor(() => expect(events.filter((e) => e.type === 'exited')).toHaveLength(4), { interval: 10 });
    expect(events.at(-1)).toMatchObject({ type: 'exited', restartInMs: 800 });
    timers.advance(799);
    expect(replica()).toMatchObject({ restarts: 3, status: 'crashed' });
    timers.advance(1);
    expect(replica().restarts).toBe(4);
    await until(() => replica().status === 'ready');

    // Ten seconds of running: the next crash is a first failure again.
    timers.advance(10_000);
    const afterLongRun = await crash(4);
    expect(afterLongRun.restartInMs).toBe(100);
    expect(afterLongRun.uptimeMs).toBeGreaterThanOrEqual(10_000);
    expect(replica().status).toBe('ready');
    expect((await httpRequest(replica().port, 'x')).status).toBe(200);
    expect(events.filter((e) => e.type === 'crash-loop')).toHaveLength(0);
  });
});
