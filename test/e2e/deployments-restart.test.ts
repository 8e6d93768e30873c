import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, exited, freePort, startServerProcess, startTestServer, type TestServer } from '../support/server.ts';
import {
  DEPLOYMENT_ENDED as TERMINAL,
  paymentsApiRepo,
  proxyGet,
  proxyTraffic,
  releaseCommit,
  versionOf,
  type ServiceRepo,
} from '../support/deploy.ts';
import { envFixture, storesAvailable, waitForEnvironment, type EnvFixture } from '../support/environments.ts';
import { userTokens } from '../support/tokens.ts';
import { GiveUp, waitUntil } from '../support/wait.ts';

// Deployments are durable (issue 6 point 6). The control plane is stopped and started again on the
// same data dir and the same proxy port: the stable release serves again through the proxy with
// exactly one set of processes (checked in /proc, not only in the control plane's own records); a
// rollout caught mid-canary ends `aborted`, its canary processes gone and only stable answering;
// after a SIGKILL of a control plane run as a real `idp server` process, the replicas it left
// behind are killed, not duplicated. Also the bad releases of issue 6: a run command that exits at
// once (crash loop, fails fast) and a health path that 404s (rolled back by health checks), while
// the stable release keeps serving.

const ok = await storesAvailable();

const deployYaml = (o: { pause?: string; health?: string } = {}) => `service: {name: payments-api, team: payments}
build: {command: npm ci --omit=dev --prefer-offline --no-audit --no-fund}
run: {command: node server.js, replicas: 2}
deploy:
  strategy: canary
  canary:
    - weight: 50
      pause: ${o.pause ?? '3s'}
    - weight: 100
  healthcheck: {path: ${o.health ?? '/health'}, interval: 1s, threshold: 3}
  rollback: {auto: true, on_error_rate: ">1%", min_requests: 20}
`;

/** Through the proxy on a new connection (the proxy restarts between tests), failing a request that hangs. */
const get = (port: number, host: string) => proxyGet(port, host, '/', { newConnection: true, timeoutMs: 5000 });

interface Proc {
  pid: number;
  pgid: number;
}

/** Every live process (zombies aside) whose working directory is a release of payments-api under dataDir, by version. */
function releaseProcesses(dataDir: string): Record<string, Proc[]> {
  const base = join(dataDir, 'releases', 'payments-api');
  const out: Record<string, Proc[]> = {};
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cwd: string;
    let stat: string;
    try {
      cwd = readlinkSync(`/proc/${entry}/cwd`);
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // gone, or not ours to read
    }
    const rel = relative(base, cwd);
    if (rel.startsWith('..') || rel === '' || rel.startsWith('/')) continue;
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z' || fields[0] === 'X') continue;
    (out[rel.split('/')[0]!] ??= []).push({ pid: Number(entry), pgid: Number(fields[2]) });
  }
  return out;
}

/** version → sorted distinct process groups (one per replica). */
function groupsByVersion(dataDir: string): Record<string, number[]> {
  return Object.fromEntries(
    Object.entries(releaseProcesses(dataDir)).map(([v, ps]) => [
      v,
      [...new Set(ps.map((p) => p.pgid))].sort((a, b) => a - b),
    ]),
  );
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** Polls `fn` until it returns something truthy, and returns that. */
const until = <T>(what: string, fn: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> =>
  waitUntil(what, fn, { timeout: ms, interval: 100 });

describe.skipIf(!ok)('deployments survive a control-plane restart', () => {
  let fx: EnvFixture;
  let server: TestServer | null = null;
  let child: Awaited<ReturnType<typeof startServerProcess>> | null = null;
  let dataDir: string;
  let proxyPort: number;
  let t: Record<string, string>;
  let repo: ServiceRepo;
  let envName: string;
  let host: string;
  let v1 = '';

  /** The control plane answering now: the in-process one, or the `idp server` child. */
  const cp = () => (child ? { url: child.url } : server!);
  const start = async () => {
    server = await startTestServer({ configPath: fx.configPath, environmentTimers: false, dataDir, proxyPort });
  };
  const stop = async () => {
    await server?.services.environments.idle();
    await server?.stop();
    server = null;
  };
  const restart = async () => {
    await stop();
    await start();
  };
  const commit = (message: string) => repo.commit(message);
  const release = (sha: string) => releaseCommit(cp(), t.alice!, 'payments-api', repo, sha);
  const deploy = async (version: string): Promise<string> => {
    const res = await api(cp(), t.alice!, 'POST', '/api/deployments', {
      service: 'payments-api',
      env: envName,
      version,
    });
    expect(res.status, res.text).toBe(202);
    return res.json.id as string;
  };
  const deployment = async (id: string) => (await api(cp(), t.alice!, 'GET', `/api/deployments/${id}`)).json;
  const ended = (id: string, ms = 60_000) =>
    until(
      `deployment ${id} to end`,
      async () => {
        const d = await deployment(id);
        return TERMINAL.includes(d.status) ? d : undefined;
      },
      ms,
    );
  const runtime = async () => {
    const row = await server!.services.store.db
      .selectFrom('service_runtime')
      .selectAll()
      .where('env', '=', envName)
      .where('service', '=', 'payments-api')
      .executeTakeFirstOrThrow();
    return {
      version: row.version,
      processes: JSON.parse(row.processes ?? '[]') as Array<{ pid: number; pgid: number; port: number }>,
    };
  };
  const recordedCanary = async (id: string) => {
    const row = await server!.services.store.db
      .selectFrom('deployments')
      .select('processes')
      .where('id', '=', id)
      .executeTakeFirstOrThrow();
    return JSON.parse(row.processes ?? '[]') as Array<{ pid: number; pgid: number }>;
  };
  /** n requests through the proxy: every one must answer 200 from `version`. */
  const expectOnly = async (version: string, n = 40) => {
    const rs = await Promise.all(Array.from({ length: n }, () => get(proxyPort, host)));
    expect(rs.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.body}`)).toEqual([]);
    expect(new Set(rs.map((r) => JSON.parse(r.body).version))).toEqual(new Set([version]));
    expect(new Set(rs.map(versionOf))).toEqual(new Set([version]));
  };
  /** `idp server` answers /healthz before it has restored the routes: wait for the stable release on the proxy. */
  const servingAgain = async (version: string) => {
    let last = '';
    await until(
      `${version} to serve through the proxy`,
      async () => {
        const r = await get(proxyPort, host).catch((err: Error) => ({
          status: 0,
          release: undefined,
          body: err.message,
        }));
        last = `${r.status} ${r.body.slice(0, 300)}`;
        return r.status === 200 && versionOf(r) === version;
      },
      30_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last answer: ${last}; server output: ${child?.output() ?? '-'}`);
    });
  };
  /** A little steady traffic through the proxy, counting answers per release and failures. */
  const traffic = (pauseMs = 20) => proxyTraffic(proxyPort, host, { pauseMs, newConnection: true, timeoutMs: 5000 });

  beforeAll(async () => {
    fx = envFixture();
    dataDir = mkdtempSync(join(tmpdir(), 'idp-deploy-restart-'));
    proxyPort = await freePort();
    await start();
    t = await userTokens(server!, ['alice']);
    envName = fx.envName('restarts');
    expect((await api(server!, t.alice!, 'POST', '/api/environments', { name: envName, from: 'staging' })).status).toBe(
      202,
    );
    await waitForEnvironment(server!, t.alice!, envName, ['ready'], { failOn: ['failed'] });
    host = `payments-api.${envName}-alice.localhost`;
    repo = paymentsApiRepo(deployYaml(), 'idp-deploy-restart-repo-');
  }, 120_000);

  afterAll(async () => {
    if (child && child.child.exitCode === null && child.child.signalCode === null) {
      child.child.kill('SIGKILL');
      await exited(child.child);
    }
    child = null;
    // A control plane on the data dir stops what it runs; the environment goes with the fixture.
    if (!server && dataDir) await start().catch(() => {});
    if (server) {
      await api(server, t?.alice ?? server.adminToken, 'DELETE', `/api/environments/${envName}`).catch(() => {});
      await until(
        'the environment to go',
        async () => {
          const res = await api(server!, t.alice!, 'GET', `/api/environments/${envName}`);
          return res.status === 404 || res.json?.status === 'deleted' || res.json?.status === 'failed';
        },
        30_000,
      ).catch(() => {});
      await stop();
    }
    // Nothing may outlive the file, whatever failed above.
    if (dataDir)
      for (const ps of Object.values(releaseProcesses(dataDir)))
        for (const p of ps)
          try {
            process.kill(-p.pgid, 'SIGKILL');
          } catch {
            /* gone */
          }
    await fx?.cleanup();
    repo?.remove();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  it('after a restart on the same data dir the stable release serves again on the same proxy port, with exactly one set of processes', async () => {
    v1 = await release(commit('v1'));
    const dep = await ended(await deploy(v1));
    expect(dep.status, dep.reason).toBe('healthy');
    await expectOnly(v1);
    const before = await runtime();
    expect(before.version).toBe(v1);
    expect(before.processes).toHaveLength(2);
    expect(groupsByVersion(dataDir)).toEqual({ [v1]: before.processes.map((p) => p.pgid).sort((a, b) => a - b) });

    await restart();
    expect(server!.services.deployments.service.proxyPort).toBe(proxyPort);
    await expectOnly(v1);
    const after = await runtime();
    expect(after.version).toBe(v1);
    expect(after.processes).toHaveLength(2);
    // New processes, the old ones gone, and nothing else running from any release.
    expect(after.processes.map((p) => p.pid).filter((pid) => before.processes.some((b) => b.pid === pid))).toEqual([]);
    expect(before.processes.filter((p) => alive(p.pid)).map((p) => p.pid)).toEqual([]);
    expect(groupsByVersion(dataDir)).toEqual({ [v1]: after.processes.map((p) => p.pgid).sort((a, b) => a - b) });
    for (const p of after.processes) expect(alive(p.pid)).toBe(true);
    // The history is what it was: one healthy deployment, nothing re-run.
    const history = await api(server!, t.alice!, 'GET', `/api/deployments?service=payments-api&env=${envName}`);
    expect(history.json.items.map((d: any) => [d.version, d.status])).toEqual([[v1, 'healthy']]);
  }, 60_000);

  it('a release whose process exits at once fails fast as a crash loop while the stable release keeps serving', async () => {
    repo.write('fault.json', '{"crash": true}\n');
    const crash = await release(commit('crash at start'));
    repo.write('fault.json', '{"errorRate": 0}\n');
    const load = traffic();
    const t0 = Date.now();
    const dep = await ended(await deploy(crash), 30_000);
    const took = Date.now() - t0;
    const { seen, failures } = await load.stop();
    expect(['rolled_back', 'failed']).toContain(dep.status);
    expect(dep.status).toBe('rolled_back'); // a stable release exists, so it is a rollback
    expect(dep.reason).toMatch(/crash.?loop/i);
    expect(dep.figures).toMatchObject({ check: 'crash_loop' });
    expect(took).toBeLessThan(10_000);
    expect(failures).toEqual([]);
    expect([...seen.keys()]).toEqual([v1]);
    await expectOnly(v1);
    await until('the crashing release to be gone', async () => !(crash in groupsByVersion(dataDir)), 10_000);
    expect(Object.keys(groupsByVersion(dataDir))).toEqual([v1]);
  }, 60_000);

  it('a release whose health path 404s is rolled back by the health checks while the stable release keeps serving', async () => {
    repo.write('.idp/deploy.yaml', deployYaml({ health: '/nope' }));
    const nope = await release(commit('health path 404s'));
    repo.write('.idp/deploy.yaml', deployYaml());
    const load = traffic();
    const dep = await ended(await deploy(nope), 30_000);
    const { seen, failures } = await load.stop();
    expect(dep.status, dep.reason).toBe('rolled_back');
    expect(dep.reason).toMatch(/health check failed 3 times/);
    expect(dep.figures).toMatchObject({ check: 'health', limit: 3 });
    expect(failures).toEqual([]);
    // It never passed a health check, so it never took traffic.
    expect([...seen.keys()]).toEqual([v1]);
    await expectOnly(v1);
    expect(Object.keys(groupsByVersion(dataDir))).toEqual([v1]);
  }, 60_000);

  it('a restart mid-canary aborts the rollout: only the stable release answers afterwards and the canary processes are gone', async () => {
    repo.write('.idp/deploy.yaml', deployYaml({ pause: '60s' }));
    const v2 = await release(commit('v2 with a long pause'));
    const load = traffic();
    const id = await deploy(v2);
    await until('the canary to take traffic', async () => {
      const d = await deployment(id);
      if (TERMINAL.includes(d.status)) throw new GiveUp(`ended early: ${JSON.stringify(d)}`);
      return d.step === 0 && d.weight === 50 && (load.seen.get(v2) ?? 0) >= 5;
    });
    const { failures } = await load.stop();
    expect(failures).toEqual([]);
    const canary = await recordedCanary(id);
    expect(canary).toHaveLength(2);
    const stablePids = (await runtime()).processes;
    expect(groupsByVersion(dataDir)).toEqual({
      [v1]: stablePids.map((p) => p.pgid).sort((a, b) => a - b),
      [v2]: canary.map((p) => p.pgid).sort((a, b) => a - b),
    });

    await restart();
    const dep = await deployment(id);
    expect(dep.status).toBe('aborted');
    expect(dep.reason).toMatch(/restart/i);
    expect(dep.finishedAt).not.toBeNull();
    expect(canary.filter((p) => alive(p.pid)).map((p) => p.pid)).toEqual([]);
    await expectOnly(v1, 100);
    const rt = await runtime();
    expect(rt.version).toBe(v1);
    expect(groupsByVersion(dataDir)).toEqual({ [v1]: rt.processes.map((p) => p.pgid).sort((a, b) => a - b) });
    // Nothing is left "in progress": a new deployment is accepted.
    const history = await api(server!, t.alice!, 'GET', `/api/deployments?service=payments-api&env=${envName}`);
    expect(history.json.items.filter((d: any) => !TERMINAL.includes(d.status))).toEqual([]);
    repo.write('.idp/deploy.yaml', deployYaml());
  }, 90_000);

  it('after a SIGKILL of `idp server` mid-canary, the next start kills the replicas left behind and runs one set of the stable release', async () => {
    // The same data dir and proxy port, served by a real `idp server` process this time.
    await stop();
    child = await startServerProcess(['--data-dir', dataDir, '--config', fx.configPath], {
      IDP_PROXY_PORT: String(proxyPort),
      IDP_LOG_LEVEL: 'warn',
    });
    await servingAgain(v1);
    await expectOnly(v1);
    repo.write('.idp/deploy.yaml', deployYaml({ pause: '60s' }));
    const v3 = await release(commit('v3 with a long pause'));
    repo.write('.idp/deploy.yaml', deployYaml());
    const load = traffic();
    const id = await deploy(v3);
    await until('the canary to take traffic', async () => {
      const d = await deployment(id);
      if (TERMINAL.includes(d.status)) throw new GiveUp(`ended early: ${JSON.stringify(d)}`);
      return d.step === 0 && (load.seen.get(v3) ?? 0) >= 5;
    });
    await load.stop();
    const left = groupsByVersion(dataDir);
    expect(Object.keys(left).sort()).toEqual([v1, v3].sort());
    child.child.kill('SIGKILL');
    await exited(child.child);
    child = null;
    // Detached on purpose: the replicas outlive the control plane.
    expect(groupsByVersion(dataDir)).toEqual(left);

    await start();
    const dep = await deployment(id);
    expect(dep.status).toBe('aborted');
    expect(dep.reason).toMatch(/restart/i);
    await expectOnly(v1, 100);
    const rt = await runtime();
    expect(rt.version).toBe(v1);
    for (const pgid of [...left[v1]!, ...left[v3]!]) expect(alive(pgid), `pid ${pgid} left behind`).toBe(false);
    expect(groupsByVersion(dataDir)).toEqual({ [v1]: rt.processes.map((p) => p.pgid).sort((a, b) => a - b) });
  }, 90_000);
  it('a stable replica that crashed and was restarted is not left behind by a SIGKILLed control plane', async () => {
    await stop();
    child = await startServerProcess(['--data-dir', dataDir, '--config', fx.configPath], {
      IDP_PROXY_PORT: String(proxyPort),
      IDP_LOG_LEVEL: 'warn',
    });
    await servingAgain(v1);
    const before = groupsByVersion(dataDir)[v1]!;
    expect(before).toHaveLength(2);
    // One replica dies; the supervisor starts it again (new pid, new process group).
    process.kill(-before[0]!, 'SIGKILL');
    const restarted = await until(
      'the replica to be restarted',
      async () => {
        const now = groupsByVersion(dataDir)[v1] ?? [];
        return now.length === 2 && !now.includes(before[0]!) ? now : undefined;
      },
      15_000,
    );
    await servingAgain(v1);
    child.child.kill('SIGKILL');
    await exited(child.child);
    child = null;
    await start();
    await expectOnly(v1);
    const rt = await runtime();
    for (const pgid of restarted)
      expect(alive(pgid), `replica group ${pgid} of the killed control plane left running`).toBe(false);
    expect(groupsByVersion(dataDir)).toEqual({ [v1]: rt.processes.map((p) => p.pgid).sort((a, b) => a - b) });
  }, 60_000);
});
