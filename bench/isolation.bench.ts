// Issue 10 (isolation): what the bubblewrap sandbox adds, `runtime.isolation: none` and `sandbox`
// alternating in the same run on this machine.
//
//   replica start   ReleaseProcesses.start of one replica of a tiny node HTTP server until its
//                   port accepts TCP (the supervisor's readiness), then stop: directly as the
//                   control plane's user vs. bwrap + setpriv to its uid (RUNS each).
//   env:create      POST /api/environments from a Redis-only base to `ready` (the namespace step
//                   allocates the namespace's user and makes its scratch folder).
//   deploy          upload (a new release each time, with a one-line build command) + rollout
//                   to healthy (first deploy, straight to 100%) in that environment; the
//                   upload (with its build) is also reported alone. The rollout waits for a
//                   health check (interval 1 s), so its time moves in steps of the interval.
//
// Two control planes in this process (one per mode, own data dirs, config files and Redis
// prefixes), the runs interleaved none/sandbox/none/… so drift on the machine hits both alike.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ReleaseProcesses, Sandbox } from '@idp/runtime-local';
import { startServer, type RunningServer } from '@idp/server';

const ROOT = resolve(import.meta.dirname, '..');
const REDIS_URL = process.env.IDP_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUNS = Number(process.env.BENCH_ISOLATION_RUNS ?? 10);
const ADMIN = `bench-isolation-admin-${randomBytes(8).toString('hex')}`;
const SERVER_JS = `require('node:http').createServer((q, s) => s.end('ok')).listen(Number(process.env.PORT));\n`;
type Mode = 'none' | 'sandbox';

const p50 = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor((s.length - 1) / 2)]! : NaN;
};
const round = (n: number) => Math.round(n * 10) / 10;

async function replicaStarts(work: string): Promise<Record<Mode, number[]>> {
  const app = join(work, 'replica');
  const scratch = join(work, 'replica-scratch');
  mkdirSync(app, { recursive: true });
  mkdirSync(join(scratch, 'tmp'), { recursive: true });
  for (const dir of [scratch, join(scratch, 'tmp')]) chownSync(dir, 200_999, 200_999);
  writeFileSync(join(app, 'server.js'), SERVER_JS);
  const sandbox = new Sandbox({ bwrap: '/usr/bin/bwrap', stateDir: join(work, 'sandbox-state') });
  const spec = { uid: 200_999, gid: 200_999, user: 'app', appDir: app, appWritable: false, scratchDir: scratch };
  const times: Record<Mode, number[]> = { none: [], sandbox: [] };
  for (let i = 0; i < RUNS * 2; i++) {
    const mode: Mode = i % 2 === 0 ? 'none' : 'sandbox';
    const started = performance.now();
    const group = await ReleaseProcesses.start(
      {
        release: `bench@${i}`,
        command: 'node server.js',
        cwd: app,
        replicas: 1,
        logDir: join(work, 'logs', String(i)),
        ...(mode === 'sandbox' ? { sandbox: { sandbox, spec } } : {}),
      },
      { readiness: { intervalMs: 5, timeoutMs: 1000 } },
    );
    await group.waitReady(10_000);
    times[mode].push(performance.now() - started);
    await group.stop(2000);
  }
  return times;
}

async function controlPlane(
  work: string,
  mode: Mode,
): Promise<{
  server: RunningServer;
  call: (method: string, path: string, body?: unknown, type?: string) => Promise<{ status: number; json: any }>;
}> {
  const id = randomBytes(3).toString('hex');
  const config = join(work, `idp.${mode}.yaml`);
  writeFileSync(
    config,
    `organization: {name: acme}
auth: {adminGroup: platform}
catalog:
  locations: [${join(ROOT, 'examples/acme/catalog')}, ${join(ROOT, 'examples/acme/services')}]
redis: {url: ${REDIS_URL}}
environments:
  base:
    benchcache${mode}:
      tier: development
      redisPrefix: "bench-iso-${id}:"
runtime: {isolation: ${mode}}
`,
  );
  const server = await startServer({
    port: 0,
    proxyPort: 0,
    dataDir: join(work, `data-${mode}`),
    configPath: config,
    adminToken: ADMIN,
    logLevel: 'warn',
    log: () => {},
    environmentTimers: false,
    catalogTimer: false,
  });
  const call = async (method: string, path: string, body?: unknown, type = 'application/json') => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${ADMIN}`, ...(body === undefined ? {} : { 'content-type': type }) },
      body: body === undefined ? undefined : type === 'application/json' ? JSON.stringify(body) : (body as Buffer),
    });
    return { status: res.status, json: (await res.json().catch(() => undefined)) as any };
  };
  return { server, call };
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function run(): Promise<Record<string, number | string>> {
  const work = mkdtempSync(join(tmpdir(), 'idp-bench-isolation-'));
  const repo = join(work, 'repo');
  mkdirSync(join(repo, '.idp'), { recursive: true });
  execFileSync('git', ['init', '-q'], { cwd: repo });
  const planes: Partial<Record<Mode, Awaited<ReturnType<typeof controlPlane>>>> = {};
  // The supervisor's timers and children are unref'd (they never hold a control plane open):
  // something must keep this process alive while it waits for them.
  const keepAlive = setInterval(() => {}, 1000);
  try {
    const replica = await replicaStarts(work);
    process.stdout.write(
      `replica start (until TCP ready), p50: none ${round(p50(replica.none))} ms, sandbox ${round(p50(replica.sandbox))} ms (${RUNS} each)\n`,
    );

    for (const mode of ['none', 'sandbox'] as const) planes[mode] = await controlPlane(work, mode);
    const envCreate: Record<Mode, number[]> = { none: [], sandbox: [] };
    const deploy: Record<Mode, number[]> = { none: [], sandbox: [] };
    const upload: Record<Mode, number[]> = { none: [], sandbox: [] };
    for (let i = 0; i < RUNS * 2; i++) {
      const mode: Mode = i % 2 === 0 ? 'none' : 'sandbox';
      const { call } = planes[mode]!;
      const env = `bench-${mode}-${i}`;
      let t = performance.now();
      const created = await call('POST', '/api/environments', { name: env, from: `benchcache${mode}` });
      if (created.status !== 202) throw new Error(`env:create: ${created.status} ${JSON.stringify(created.json)}`);
      await until('env ready', async () =>
        (await call('GET', `/api/environments/${env}`)).json.status === 'ready' ? true : undefined,
      );
      envCreate[mode].push(performance.now() - t);

      writeFileSync(
        join(repo, '.idp/deploy.yaml'),
        `service: {name: payments-api, team: payments}
build: {command: "node -e \\"require('fs').writeFileSync('built.txt', 'x')\\""}
run: {command: node server.js, replicas: 1}
deploy:
  strategy: canary
  canary: [{weight: 100}]
  healthcheck: {path: /, interval: 1s, threshold: 3}
`,
      );
      writeFileSync(join(repo, 'server.js'), `${SERVER_JS}// ${i}\n`);
      execFileSync('git', ['add', '-A'], { cwd: repo });
      execFileSync('git', ['-c', 'user.name=b', '-c', 'user.email=b@example.com', 'commit', '-qm', String(i)], {
        cwd: repo,
      });
      const sha = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
      const tar = execFileSync('git', ['archive', '--format=tar', sha], { cwd: repo });
      t = performance.now();
      const up = await call('POST', `/api/releases?service=payments-api&commit=${sha}`, tar, 'application/x-tar');
      if (up.status !== 201) throw new Error(`upload: ${up.status} ${JSON.stringify(up.json)}`);
      upload[mode].push(performance.now() - t);
      const dep = await call('POST', '/api/deployments', { service: 'payments-api', env, version: up.json.version });
      if (dep.status !== 202) throw new Error(`deploy: ${dep.status} ${JSON.stringify(dep.json)}`);
      const done = await until('deploy ended', async () => {
        const d = (await call('GET', `/api/deployments/${dep.json.id}`)).json;
        return ['healthy', 'failed', 'rolled_back', 'aborted'].includes(d.status) ? d : undefined;
      });
      if (done.status !== 'healthy') throw new Error(`deploy ${mode}: ${JSON.stringify(done)}`);
      deploy[mode].push(performance.now() - t);
      await call('DELETE', `/api/environments/${env}`);
    }
    const figures = {
      'replica start none p50 ms': round(p50(replica.none)),
      'replica start sandbox p50 ms': round(p50(replica.sandbox)),
      'replica start overhead ms': round(p50(replica.sandbox) - p50(replica.none)),
      'env:create none p50 ms': round(p50(envCreate.none)),
      'env:create sandbox p50 ms': round(p50(envCreate.sandbox)),
      'env:create overhead ms': round(p50(envCreate.sandbox) - p50(envCreate.none)),
      'upload+build none p50 ms': round(p50(upload.none)),
      'upload+build sandbox p50 ms': round(p50(upload.sandbox)),
      'upload+build overhead ms': round(p50(upload.sandbox) - p50(upload.none)),
      'deploy none p50 ms': round(p50(deploy.none)),
      'deploy sandbox p50 ms': round(p50(deploy.sandbox)),
      'deploy overhead ms': round(p50(deploy.sandbox) - p50(deploy.none)),
      runs: RUNS,
    };
    for (const [k, v] of Object.entries(figures)) process.stdout.write(`${k.padEnd(32)} ${v}\n`);
    return figures;
  } finally {
    clearInterval(keepAlive);
    for (const plane of Object.values(planes)) {
      await plane?.server.services.environments.idle().catch(() => {});
      await plane?.server.close();
    }
    rmSync(work, { recursive: true, force: true });
  }
}
