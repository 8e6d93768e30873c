import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ProcessSupervisor, type ReplicaInfo } from '@idp/runtime-local';
import { groupUsage, parseStat, replicaMetricsText } from './replica-metrics.ts';

/** The value of one sample line `name{labels} value` of the exposition, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

// Burns 0.3 s of CPU, holds 64 MiB, then serves (so its readiness probe passes).
const SERVICE = `
while (process.cpuUsage().user < 300000) {}
const hold = Buffer.alloc(64 * 1024 * 1024, 1);
require('http').createServer((q, s) => s.end(String(hold.length))).listen(Number(process.env.PORT));
`;

const dir = mkdtempSync(join(tmpdir(), 'idp-replica-metrics-'));
const supervisor = new ProcessSupervisor({ backoff: { initialMs: 50, maxMs: 100 }, readiness: { intervalMs: 50 } });

afterAll(async () => {
  await supervisor.stopAll(2_000);
  rmSync(dir, { recursive: true, force: true });
});

describe('replica metrics', () => {
  it('parses /proc/<pid>/stat whatever the command name holds', () => {
    const fields = (comm: string) =>
      `4242 (${comm}) S 1 4240 4240 0 -1 4194560 100 0 0 0 150 50 7 3 20 0 1 0 12345 99999999 2560 18446744073709551615`;
    expect(parseStat(fields('node'))).toEqual({ state: 'S', pgid: 4240, ticks: 210, rssPages: 2560 });
    expect(parseStat(fields('a) (b c) S 9 9'))).toMatchObject({ state: 'S', pgid: 4240, ticks: 210 });
    expect(parseStat('garbage')).toBeUndefined();
  });

  it('sums the CPU time and resident memory of every process of a group; a vanished group is simply absent', async () => {
    // Three processes in one new group: the shell and two sleeps.
    const child = spawn('/bin/sh', ['-c', 'sleep 30 & sleep 30 & wait'], { detached: true, stdio: 'ignore' });
    try {
      const pgid = child.pid!;
      await expect.poll(() => groupUsage(new Set([pgid])).get(pgid)?.processes, { timeout: 5_000 }).toBe(3);
      const usage = groupUsage(new Set([pgid, 999_999_999])).get(pgid)!;
      expect(usage.residentBytes).toBeGreaterThan(3 * 4096);
      expect(usage.cpuSeconds).toBeGreaterThanOrEqual(0);
      process.kill(-pgid, 'SIGKILL');
      await expect.poll(() => groupUsage(new Set([pgid])).has(pgid), { timeout: 5_000 }).toBe(false);
      expect(groupUsage(new Set([pgid]), join(dir, 'no-proc')).size).toBe(0);
    } finally {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
  });

  it('reports a running replica up with its CPU and memory, and a restart after it is killed', async () => {
    writeFileSync(join(dir, 'server.js'), SERVICE);
    const group = await supervisor.start({
      release: 'feat-alice/payments-api@v1',
      command: `exec ${process.execPath} server.js`,
      cwd: dir,
      replicas: 2,
      logDir: join(dir, 'logs'),
    });
    await group.waitReady(20_000);
    const stamp = 'team="payments",service="payments-api",env="feat",namespace="feat-alice",release="v1"';
    const text = () => replicaMetricsText([{ stamp, replicas: group.replicas() }]);
    const first = text();
    for (const replica of ['1', '2']) {
      const labels = `${stamp},replica="${replica}"`;
      expect(sample(first, `idp_replica_up{${labels}}`)).toBe(1);
      expect(sample(first, `idp_replica_restarts_total{${labels}}`)).toBe(0);
      expect(sample(first, `idp_replica_cpu_seconds_total{${labels}}`)).toBeGreaterThanOrEqual(0.3);
      expect(sample(first, `idp_replica_resident_memory_bytes{${labels}}`)).toBeGreaterThan(64 * 1024 * 1024);
    }
    expect(first.match(/^# TYPE idp_replica_cpu_seconds_total counter$/gm)).toHaveLength(1);

    process.kill(-group.replicas()[1]!.pgid!, 'SIGKILL');
    const second = `${stamp},replica="2"`;
    await expect.poll(() => sample(text(), `idp_replica_restarts_total{${second}}`), { timeout: 10_000 }).toBe(1);
    await expect.poll(() => sample(text(), `idp_replica_up{${second}}`), { timeout: 20_000 }).toBe(1);
    expect(sample(text(), `idp_replica_restarts_total{${stamp},replica="1"}`)).toBe(0);
  }, 60_000);

  it('a replica that is not running is up 0 with no CPU or memory series', () => {
    const info: ReplicaInfo = {
      release: 'ns/svc@v1',
      index: 0,
      pid: null,
      pgid: null,
      port: 1,
      status: 'crash-loop',
      restarts: 4,
      lastExitCode: 1,
      lastExitSignal: null,
      startedAt: null,
      readyAt: null,
      logFile: '/dev/null',
    };
    const text = replicaMetricsText([{ stamp: 'service="svc"', replicas: [info] }]);
    expect(sample(text, 'idp_replica_up{service="svc",replica="1"}')).toBe(0);
    expect(sample(text, 'idp_replica_restarts_total{service="svc",replica="1"}')).toBe(4);
    expect(text).not.toMatch(/^idp_replica_cpu_seconds_total\{/m);
    expect(text).not.toMatch(/^idp_replica_resident_memory_bytes\{/m);
  });

  it('scrapes 50 replicas in a few milliseconds', async () => {
    const children = Array.from({ length: 50 }, () =>
      spawn('/bin/sh', ['-c', 'sleep 30 & wait'], { detached: true, stdio: 'ignore' }),
    );
    try {
      const replicas: ReplicaInfo[] = children.map((c, index) => ({
        release: 'ns/svc@v1',
        index,
        pid: c.pid!,
        pgid: c.pid!,
        port: 1,
        status: 'ready',
        restarts: 0,
        lastExitCode: null,
        lastExitSignal: null,
        startedAt: 0,
        readyAt: 0,
        logFile: '/dev/null',
      }));
      const releases = [{ stamp: 'service="svc"', replicas }];
      await expect
        .poll(() => replicaMetricsText(releases).match(/^idp_replica_resident_memory_bytes\{/gm)?.length, {
          timeout: 10_000,
        })
        .toBe(50);
      const runs: number[] = [];
      for (let i = 0; i < 20; i++) {
        const t0 = performance.now();
        replicaMetricsText(releases);
        runs.push(performance.now() - t0);
      }
      runs.sort((a, b) => a - b);
      const median = runs[10]!;
      console.log(`replica metrics: 50 replicas, median scrape ${median.toFixed(2)} ms`);
      expect(median).toBeLessThan(15);
    } finally {
      for (const c of children) {
        try {
          process.kill(-c.pid!, 'SIGKILL');
        } catch {
          /* gone */
        }
      }
    }
  });
});
