import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReplicaInfo, ReplicaStatus } from '@idp/runtime-local';
import { describe, expect, it } from 'vitest';
import { parseReleaseKey, ScrapeTargets, type RunningRelease, type WorkloadFacts } from './scrape-targets.ts';

function replica(index: number, port: number, status: ReplicaStatus = 'ready'): ReplicaInfo {
  return {
    release: 'x',
    index,
    pid: 1000 + index,
    pgid: 1000 + index,
    port,
    status,
    restarts: 0,
    lastExitCode: null,
    lastExitSignal: null,
    startedAt: 0,
    readyAt: 0,
    logFile: '/dev/null',
  };
}

function setup(running: RunningRelease[], facts: Record<string, WorkloadFacts>) {
  const dir = mkdtempSync(join(tmpdir(), 'idp-targets-'));
  const logs: string[] = [];
  const targets = new ScrapeTargets({
    dir,
    running: () => running,
    facts: (_ns, service, version) => Promise.resolve(facts[`${service}@${version}`] ?? null),
    log: (line) => logs.push(line),
  });
  const read = (ns: string) => JSON.parse(readFileSync(join(dir, 'targets', `${ns}.json`), 'utf8')) as unknown;
  return { dir, targets, read, logs };
}

const payments: WorkloadFacts = { team: 'payments', env: 'staging', metrics: { path: '/metrics', port: null } };

describe('scrape targets', () => {
  it('parses release keys and refuses others', () => {
    expect(parseReleaseKey('staging/payments-api@abc-123')).toEqual({
      namespace: 'staging',
      service: 'payments-api',
      version: 'abc-123',
    });
    expect(parseReleaseKey('no-slash@v')).toBeUndefined();
    expect(parseReleaseKey('ns/svc@')).toBeUndefined();
  });

  it("writes one target per live replica at its PORT, with the platform's five labels and the metrics path", async () => {
    const running = [
      {
        release: 'staging/payments-api@v1',
        replicas: [replica(0, 4001), replica(1, 4002), replica(2, 4003, 'stopped')],
      },
      { release: 'staging/quiet-api@v1', replicas: [replica(0, 4010)] },
      { release: 'other/payments-api@v1', replicas: [replica(0, 4020)] },
    ];
    const { targets, read, dir } = setup(running, {
      'payments-api@v1': { ...payments, metrics: { path: '/prom', port: null } },
      'quiet-api@v1': { team: 'payments', env: 'staging', metrics: null },
    });
    await targets.update('staging');
    expect(read('staging')).toEqual([
      {
        targets: ['127.0.0.1:4001', '127.0.0.1:4002'],
        labels: {
          team: 'payments',
          service: 'payments-api',
          env: 'staging',
          namespace: 'staging',
          release: 'v1',
          __metrics_path__: '/prom',
        },
      },
    ]);
    // Only the namespace asked for; no temporary file left behind.
    expect(readdirSync(join(dir, 'targets'))).toEqual(['staging.json']);
    expect(targets.count()).toBe(2);
  });

  it('a declared port is one target (replicas share the host network)', async () => {
    const running = [{ release: 'staging/payments-api@v1', replicas: [replica(0, 4001)] }];
    const { targets, read } = setup(running, {
      'payments-api@v1': { ...payments, metrics: { path: '/metrics', port: 9100 } },
    });
    await targets.update('staging');
    expect((read('staging') as Array<{ targets: string[] }>)[0]!.targets).toEqual(['127.0.0.1:9100']);
  });

  it('follows the supervisor: a stopped release leaves no file; remove() drops the namespace; updateAll() cleans stale files', async () => {
    const running: RunningRelease[] = [{ release: 'staging/payments-api@v1', replicas: [replica(0, 4001)] }];
    const { targets, dir } = setup(running, { 'payments-api@v1': payments });
    const file = join(dir, 'targets', 'staging.json');
    targets.onSupervisorEvent({ type: 'started', release: 'staging/payments-api@v1', replica: 0, at: 0 });
    await expect.poll(() => existsSync(file)).toBe(true);
    running[0]!.replicas = [replica(0, 4001, 'stopped')];
    targets.onSupervisorEvent({ type: 'stopped', release: 'staging/payments-api@v1', replica: 0, at: 0 });
    await expect.poll(() => existsSync(file)).toBe(false);

    running[0]!.replicas = [replica(0, 4001)];
    await targets.update('staging');
    expect(existsSync(file)).toBe(true);
    await targets.remove('staging');
    expect(existsSync(file)).toBe(false);

    await targets.update('staging');
    running.length = 0;
    await targets.updateAll();
    expect(existsSync(file)).toBe(false);
  });

  it('a release whose facts are unknown (no environment, no owner) is not scraped', async () => {
    const running = [{ release: 'staging/ghost@v1', replicas: [replica(0, 4001)] }];
    const { targets, dir } = setup(running, {});
    await targets.update('staging');
    expect(existsSync(join(dir, 'targets', 'staging.json'))).toBe(false);
  });
});
