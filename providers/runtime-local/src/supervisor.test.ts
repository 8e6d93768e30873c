import { existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ManualTimers } from './clock.ts';
import { RuntimeError } from './errors.ts';
import { isProcessAlive, killRecorded } from './process-group.ts';
import { backoffDelay, CrashLoopDetector, DEFAULT_BACKOFF } from './restart-policy.ts';
import { ProcessSupervisor, ReleaseProcesses } from './supervisor.ts';
import type { SupervisorEvent } from './supervisor-types.ts';
import { httpRequest, SERVICE_SOURCE, STUBBORN_SOURCE, tempDir, waitFor, type TempDir } from './test-helpers.ts';

describe('backoff and crash-loop rules', () => {
  it('doubles the restart delay from 100 ms up to 10 s', () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => backoffDelay(n))).toEqual([
      100, 200, 400, 800, 1600, 3200, 6400, 10_000, 10_000,
    ]);
    expect(backoffDelay(1000, DEFAULT_BACKOFF)).toBe(10_000);
  });

  it('calls three exits within ten seconds a crash loop, and forgets exits older than the window', () => {
    const clock = new ManualTimers();
    const detector = new CrashLoopDetector({ maxExits: 3, windowMs: 10_000 }, () => clock.now());
    expect(detector.recordExit()).toBe(false);
    clock.advance(6000);
    expect(detector.recordExit()).toBe(false);
    clock.advance(6000); // the first exit is now 12 s old
    expect(detector.recordExit()).toBe(false);
    clock.advance(1000);
    expect(detector.recordExit()).toBe(true);
  });
});

describe('ProcessSupervisor with real processes', () => {
  let tmp: TempDir;
  const running: ReleaseProcesses[] = [];

  beforeAll(() => {
    tmp = tempDir();
    tmp.write('server.cjs', SERVICE_SOURCE);
    tmp.write('stubborn.cjs', STUBBORN_SOURCE);
  });
  afterEach(async () => {
    await Promise.all(running.splice(0).map((group) => group.stop(500)));
  });
  afterAll(() => tmp.remove());

  async function start(
    release: string,
    command: string,
    options: Partial<Parameters<typeof ReleaseProcesses.start>[0]> = {},
    events?: SupervisorEvent[],
  ) {
    const group = await ReleaseProcesses.start(
      { release, command, cwd: tmp.dir, replicas: 1, logDir: join(tmp.dir, 'logs', release), ...options },
      { onEvent: (event) => events?.push(event), stopGraceMs: 2000 },
    );
    running.push(group);
    return group;
  }

  it('runs N replicas on their own ports with the given env, captures each replica log, leaks no control-plane env', async () => {
    const group = await start('svc@v1', 'node server.cjs', {
      replicas: 2,
      env: { VERSION: 'v1' },
      healthPath: '/health',
    });
    const ready = await group.waitReady(10_000);
    expect(ready.map((r) => r.status)).toEqual(['ready', 'ready']);
    const [a, b] = ready;
    expect(a!.port).not.toBe(b!.port);
    expect(a!.pid).toBe(a!.pgid);
    for (const replica of ready) {
      const answer = JSON.parse((await httpRequest(replica.port, 'x')).body);
      expect(answer).toMatchObject({
        version: 'v1',
        port: String(replica.port),
        pid: expect.any(Number),
        inheritedVitest: false,
      });
    }
    await waitFor('log lines', () => group.logTail(1).includes('stderr of v1'));
    const log = group.logTail(1);
    expect(log).toContain(`listening on ${b!.port} as v1`);
    expect(log).toContain('stderr of v1');
    expect(group.logTail(0)).toContain(`listening on ${a!.port}`);
    expect(group.logTail(0)).not.toContain(`listening on ${b!.port}`);
    expect(group.targets()).toEqual([
      { host: '127.0.0.1', port: a!.port },
      { host: '127.0.0.1', port: b!.port },
    ]);
  });

  it('restarts a killed replica with backoff on the same port', async () => {
    const events: SupervisorEvent[] = [];
    const group = await start('svc@restart', 'node server.cjs', {}, events);
    const [before] = await group.waitReady(10_000);
    process.kill(before!.pid!, 'SIGKILL');
    await waitFor(
      'restart',
      () => group.replicas()[0]!.restarts === 1 && group.replicas()[0]!.status === 'ready',
      10_000,
    );
    const after = group.replicas()[0]!;
    expect(after.pid).not.toBe(before!.pid);
    expect(after.port).toBe(before!.port);
    expect(after.lastExitSignal).toBe('SIGKILL');
    expect(isProcessAlive(before!.pid!)).toBe(false);
    const exited = events.find((event) => event.type === 'exited')!;
    expect(exited).toMatchObject({ signal: 'SIGKILL', restartInMs: 100 });
    const restarted = events.filter((event) => event.type === 'started')[1]!;
    expect(restarted.at - exited.at).toBeGreaterThanOrEqual(95);
    expect((await httpRequest(after.port, 'x')).status).toBe(200);
    expect(group.logTail(0)).toContain(`(pid ${before!.pid}) exited (code null, signal SIGKILL)`);
  });

  it('detects a crash loop of a command that exits at once and fails waitReady fast', async () => {
    const events: SupervisorEvent[] = [];
    const group = await start('svc@broken', 'echo "cannot find module" >&2; exit 3', {}, events);
    const started = Date.now();
    const error = await group.waitReady(10_000).catch((err: unknown) => err);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(error).toBeInstanceOf(RuntimeError);
    expect(error).toMatchObject({ code: 'CRASH_LOOP' });
    expect((error as RuntimeError).details.logTail).toContain('cannot find module');
    const [replica] = group.replicas();
    expect(replica).toMatchObject({ status: 'crash-loop', lastExitCode: 3 });
    expect(events.filter((event) => event.type === 'crash-loop')).toHaveLength(1);
  });

  it('treats a release directory that does not exist as a crash loop, with the reason in the log', async () => {
    const group = await start('svc@nowhere', 'node server.cjs', { cwd: join(tmp.dir, 'missing') });
    await expect(group.waitReady(10_000)).rejects.toMatchObject({ code: 'CRASH_LOOP' });
    expect(group.logTail(0)).toMatch(/spawn failed: .*ENOENT/);
  });

  it('stop kills the whole process group, and SIGKILLs what ignores SIGTERM after the grace period', async () => {
    const group = await start('svc@tree', 'sleep 300 & echo $! > sleep.pid; exec node server.cjs', { cwd: tmp.dir });
    const [replica] = await group.waitReady(10_000);
    const sleepPid = Number(readFileSync(join(tmp.dir, 'sleep.pid'), 'utf8'));
    expect(isProcessAlive(sleepPid)).toBe(true);
    await group.stop(2000);
    expect(isProcessAlive(replica!.pid!)).toBe(false);
    expect(isProcessAlive(sleepPid)).toBe(false);
    expect(group.replicas()[0]).toMatchObject({ status: 'stopped', pid: null });

    const stubborn = await start('svc@stubborn', 'node stubborn.cjs');
    const [s] = await stubborn.waitReady(10_000);
    const nodePid = Number(await waitFor('node pid', () => /node pid (\d+)/.exec(stubborn.logTail(0))?.[1]));
    const stopStarted = Date.now();
    await stubborn.stop(300);
    expect(Date.now() - stopStarted).toBeGreaterThanOrEqual(290);
    expect(isProcessAlive(s!.pid!)).toBe(false);
    expect(isProcessAlive(nodePid)).toBe(false);
    expect(stubborn.logTail(0)).toContain('ignoring SIGTERM');
  });

  it('records pid, pgid and start time so killRecorded can clean up after a control-plane restart', async () => {
    const group = await start('svc@orphan', 'node server.cjs');
    await group.waitReady(10_000);
    const [record] = group.recorded();
    expect(record).toMatchObject({
      release: 'svc@orphan',
      index: 0,
      pid: expect.any(Number),
      startTime: expect.any(Number),
    });
    expect(record!.pgid).toBe(record!.pid);
    // A record whose start time does not match belongs to a recycled pid: left alone.
    const skipped = await killRecorded([{ ...record!, startTime: record!.startTime! + 1 }]);
    expect(skipped.skipped).toEqual([record!.pgid]);
    expect(isProcessAlive(record!.pid)).toBe(true);
    const result = await killRecorded([record!], { graceMs: 1000 });
    expect(result.killed).toEqual([record!.pgid]);
    expect(isProcessAlive(record!.pid)).toBe(false);
    expect((await killRecorded([record!.pid])).gone).toEqual([record!.pid]);
  });

  it('caps a replica log by rotating it to .1', async () => {
    const group = await ReleaseProcesses.start(
      {
        release: 'svc@chatty',
        command: `node -e "process.stdout.write('x'.repeat(64 * 1024) + '\\n'); setInterval(() => {}, 1000)"`,
        cwd: tmp.dir,
        replicas: 1,
        logDir: join(tmp.dir, 'logs', 'chatty'),
      },
      { logMaxBytes: 16 * 1024, logCheckIntervalMs: 50 },
    );
    running.push(group);
    const file = group.replicas()[0]!.logFile;
    await waitFor('rotation', () => existsSync(`${file}.1`) && statSync(file).size < 16 * 1024, 5000);
    expect(group.logTail(0, 1000).length).toBeLessThanOrEqual(1000);
  });

  it('ProcessSupervisor keeps one group per release and stops them all', async () => {
    const supervisor = new ProcessSupervisor({ stopGraceMs: 2000 });
    const spec = {
      release: 'svc@one',
      command: 'node server.cjs',
      cwd: tmp.dir,
      replicas: 1,
      logDir: join(tmp.dir, 'logs', 'one'),
    };
    const group = await supervisor.start(spec);
    await expect(supervisor.start(spec)).rejects.toMatchObject({ code: 'RELEASE_RUNNING' });
    const [replica] = await group.waitReady(10_000);
    expect(supervisor.recorded().map((r) => r.pid)).toEqual([replica!.pid]);
    const waiting = group.waitReady(10_000);
    await supervisor.stopAll();
    await expect(waiting).resolves.toHaveLength(1); // it was ready already
    expect(supervisor.list()).toEqual([]);
    expect(isProcessAlive(replica!.pid!)).toBe(false);
  });
});
