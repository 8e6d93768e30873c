// `npm run bench -- cli`: idp as users start it, the build (packages/cli/dist, `npm run build`)
// beside the same code run from its TypeScript source through tsx (what every start cost before
// the build: the peer). Runs alternate between the two so both see the same machine load.
// Figures: `idp --version`, `idp env:list` against a local server, the control plane's start to
// /readyz on the demo organisation (PostgreSQL and Redis up; a first start on a fresh data
// directory apart from a restart), and `idp env:create` at the terminal with the environments
// benchmark's staging (~200 MB database, 100k Redis keys, 50 secrets). Context: an empty `node`
// and `kubectl version --client` when kubectl is installed. IDP_BENCH_RUNS sets the runs (10).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import { BUILD_INFO, buildState, fileStamp } from '../packages/cli/bin/build-state.js';
import { BASE_DB, PREFIX, prepareStaging, withPg } from './environments.bench.ts';
import { addRow } from './table.ts';

const ROOT = resolve(import.meta.dirname, '..');
const BIN = join(ROOT, 'packages/cli/bin/idp.js');
const RUNS = Number(process.env.IDP_BENCH_RUNS ?? 10);
const PG_URL = process.env.IDP_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.IDP_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const ADMIN = 'bench-cli-admin-token-0123456789';
type Mode = 'build' | 'source';

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? NaN;
};
const ms = (x: number) => (x >= 10_000 ? `${(x / 1000).toFixed(1)} s` : `${Math.round(x)} ms`);

/** Wall time of one command, from spawn to exit; a failure stops the benchmark with its output. */
function timed(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<number> {
  return new Promise((done, fail) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('error', fail);
    child.on('close', (code) => {
      const t = performance.now() - t0;
      if (code === 0) done(t);
      else fail(new Error(`${cmd} ${args.join(' ')} exited ${code}: ${err.slice(-2000)}`));
    });
  });
}

const idp = (mode: Mode, args: string[], env: NodeJS.ProcessEnv = {}) =>
  timed(process.execPath, [BIN, ...args], { IDP_RUN: mode, ...env });

/** `runs` rounds; each round runs every named measurement once, in turn. */
async function alternate<K extends string>(
  runs: number,
  fns: Record<K, (i: number) => Promise<number>>,
): Promise<Record<K, number[]>> {
  const out = Object.fromEntries(Object.keys(fns).map((k) => [k, [] as number[]])) as Record<K, number[]>;
  for (let i = 0; i < runs; i++) for (const k of Object.keys(fns) as K[]) out[k].push(await fns[k](i));
  return out;
}

interface Server {
  url: string;
  child: ChildProcess;
  readyMs: number;
  stop(): Promise<void>;
}

/** `idp server` as a user starts it; resolves when /readyz answers 200, with the time that took. */
async function startServer(mode: Mode, dataDir: string, args: string[] = []): Promise<Server> {
  const port = 19000 + Math.floor(Math.random() * 1000);
  const url = `http://127.0.0.1:${port}`;
  const t0 = performance.now();
  const child = spawn(process.execPath, [BIN, 'server', '--port', String(port), '--data-dir', dataDir, ...args], {
    cwd: ROOT,
    env: { ...process.env, IDP_RUN: mode, IDP_ADMIN_TOKEN: ADMIN, IDP_PROXY_PORT: '0', IDP_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d) => (log += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async () => {
    if (child.exitCode === null) child.kill('SIGTERM');
    await exited;
  };
  for (;;) {
    if (child.exitCode !== null) throw new Error(`idp server (${mode}) exited: ${log.slice(-2000)}`);
    if (performance.now() - t0 > 120_000) {
      await stop();
      throw new Error(`idp server (${mode}) not ready after 120 s: ${log.slice(-2000)}`);
    }
    try {
      if ((await fetch(`${url}/readyz`)).status === 200) break;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  return { url, child, readyMs: performance.now() - t0, stop };
}

async function api(url: string, token: string, method: string, path: string, body?: unknown): Promise<any> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return res.json();
}

/** The freshness check bin/idp.js runs at each start: one stat per recorded input. */
function checkCost(): { inputs: number; p50: number } {
  const inputs = (JSON.parse(readFileSync(BUILD_INFO, 'utf8')) as { inputs: [string][] }).inputs;
  const times: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t0 = performance.now();
    for (const [rel] of inputs) fileStamp(rel);
    times.push(performance.now() - t0);
  }
  return { inputs: inputs.length, p50: percentile(times, 50) };
}

interface Row {
  figure: string;
  build: number[];
  source: number[];
  target: number;
}

function rows(out: Record<string, number | string>, r: Row, floor: number): void {
  const b = percentile(r.build, 50);
  const s = percentile(r.source, 50);
  const line = [
    r.figure.padEnd(34),
    `${ms(b)} / ${ms(percentile(r.build, 95))}`.padEnd(18),
    `${ms(s)} / ${ms(percentile(r.source, 95))}`.padEnd(18),
    `${(s / b).toFixed(1)}x faster`.padEnd(14),
    `${(b / floor).toFixed(1)}x`.padEnd(12),
    `<= ${ms(r.target)}`.padEnd(10),
    b <= r.target ? 'met' : 'MISSED',
  ].join(' ');
  process.stdout.write(`${line}\n`);
  out[`${r.figure} p50`] = ms(b);
  out[`${r.figure} p95`] = ms(percentile(r.build, 95));
  out[`${r.figure} p50 from source (peer)`] = ms(s);
  out[`${r.figure} ratio`] = `${(s / b).toFixed(1)}x faster`;
  // The load-independent view: the figure in starts of an empty `node` measured in the same run.
  out[`${r.figure} in node starts`] = `${(b / floor).toFixed(1)}x`;
  out[`${r.figure} target p50 <= ${ms(r.target)}`] = b <= r.target ? 'met' : 'MISSED';
  addRow({
    bench: 'cli',
    figure: `${r.figure} p50`,
    idp: ms(b),
    peer: 'idp from source (tsx)',
    peerValue: ms(s),
    ratio: `${(s / b).toFixed(1)}× faster`,
    target: `≤ ${ms(r.target)}`,
    result: b <= r.target ? 'met' : 'MISSED',
  });
}

export async function run(): Promise<Record<string, number | string>> {
  const built = spawnSync('npm', ['run', 'build', '--silent', '--', '--if-stale'], { cwd: ROOT, stdio: 'inherit' });
  if (built.status !== 0) throw new Error('npm run build failed');
  const state = buildState();
  const work = mkdtempSync(join(tmpdir(), 'idp-bench-cli-'));
  const out: Record<string, number | string> = {};
  const table: Row[] = [];
  const servers: Server[] = [];
  const redis = new Redis(REDIS_URL);
  try {
    const check = checkCost();
    process.stdout.write(
      `build: ${state.state}; freshness check: ${check.inputs} inputs in ${check.p50.toFixed(1)} ms\n`,
    );
    out['build at start'] = state.state;
    const load = () =>
      loadavg()
        .map((l) => l.toFixed(1))
        .join(' ');
    out.machine = `${availableParallelism()} cores; load average at start ${load()}`;
    out['freshness check p50'] = `${check.p50.toFixed(1)} ms (${check.inputs} files)`;

    // Context: node itself, and kubectl's client when it is installed.
    const kubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
    const context: Record<string, (i: number) => Promise<number>> = { node: () => timed(process.execPath, ['-e', '']) };
    if (kubectl) context.kubectl = () => timed('kubectl', ['version', '--client']);
    const floors = await alternate(RUNS, context);
    out['node -e "" p50 (floor)'] = ms(percentile(floors.node ?? [], 50));
    if (kubectl) out['kubectl version --client p50'] = ms(percentile(floors.kubectl ?? [], 50));

    const version = await alternate(RUNS, {
      build: () => idp('build', ['--version']),
      source: () => idp('source', ['--version']),
    });
    table.push({ figure: 'idp --version', ...version, target: 150 });

    // env:list against a local control plane (the demo organisation, SQLite).
    const demo = await startServer('build', join(work, 'list'));
    servers.push(demo);
    const asAdmin = { IDP_URL: demo.url, IDP_TOKEN: ADMIN, IDP_CONFIG_DIR: join(work, 'cfg') };
    const list = await alternate(RUNS, {
      build: () => idp('build', ['env:list'], asAdmin),
      source: () => idp('source', ['env:list'], asAdmin),
    });
    table.push({ figure: 'idp env:list', ...list, target: 300 });
    await demo.stop();

    // Control plane start to /readyz: a fresh data directory (the first start creates keys and
    // seeds), then restarts on the same one. Both on the demo, PostgreSQL and Redis up.
    const starts = Math.ceil(RUNS / 2);
    const firstStart = await alternate(starts, {
      build: async (i) =>
        startServer('build', join(work, `first-build-${i}`)).then(async (s) => (await s.stop(), s.readyMs)),
      source: async (i) =>
        startServer('source', join(work, `first-source-${i}`)).then(async (s) => (await s.stop(), s.readyMs)),
    });
    table.push({ figure: 'server start to /readyz, first', ...firstStart, target: 2000 });
    const restart = await alternate(starts, {
      build: async () =>
        startServer('build', join(work, 'first-build-0')).then(async (s) => (await s.stop(), s.readyMs)),
      source: async () =>
        startServer('source', join(work, 'first-source-0')).then(async (s) => (await s.stop(), s.readyMs)),
    });
    table.push({ figure: 'server start to /readyz, restart', ...restart, target: 2000 });

    // env:create at the terminal: the environments benchmark's staging, the CLI waiting until ready.
    await prepareStaging(redis);
    const secretsFile = join(work, 'secrets.yaml');
    writeFileSync(secretsFile, Array.from({ length: 50 }, (_, i) => `payments-api/KEY_${i}: value-${i}`).join('\n'));
    const config = join(work, 'idp.config.yaml');
    writeFileSync(
      config,
      `organization: {name: acme}
auth: {adminGroup: platform}
catalog:
  locations: [${join(ROOT, 'examples/acme/catalog')}, ${join(ROOT, 'examples/acme/services')}]
postgres: {adminUrl: ${PG_URL}}
redis: {url: ${REDIS_URL}}
environments:
  base:
    benchstaging:
      tier: staging
      database: ${BASE_DB}
      redisPrefix: "${PREFIX}"
      seed: {secrets: ${secretsFile}}
`,
    );
    const envServer = await startServer('build', join(work, 'env'), ['--config', config]);
    servers.push(envServer);
    const token = (await api(envServer.url, ADMIN, 'POST', '/api/tokens', { user: 'alice@company.com' })).token;
    const asAlice = { IDP_URL: envServer.url, IDP_TOKEN: token, IDP_CONFIG_DIR: join(work, 'cfg') };
    const remove = async (name: string) => {
      await api(envServer.url, token, 'DELETE', `/api/environments/${name}`);
      for (;;) {
        const env = await api(envServer.url, token, 'GET', `/api/environments/${name}`);
        if (env.status === 'deleted' || env.error?.code === 'ENV_NOT_FOUND') return;
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    const create = async (mode: Mode, name: string) => {
      const t = await idp(mode, ['env:create', `--name=${name}`, '--from=benchstaging', '--ttl=1d'], asAlice);
      await remove(name);
      return t;
    };
    // The first clone takes the snapshot (pg_dump | pg_restore): reported apart.
    out['env:create first (takes the snapshot)'] = ms(await create('build', 'bench-cli-first'));
    const creates = await alternate(RUNS, {
      build: (i) => create('build', `bench-cli-b${i}`),
      source: (i) => create('source', `bench-cli-s${i}`),
    });
    table.push({ figure: 'idp env:create (wall, CLI incl.)', ...creates, target: 1500 });
    await envServer.stop();
    await cleanSnapshots();

    process.stdout.write(
      `\n${'figure'.padEnd(34)} ${'build p50 / p95'.padEnd(18)} ${'source p50 / p95'.padEnd(18)} ${'ratio'.padEnd(14)} ${'/ node -e'.padEnd(12)} ${'target'.padEnd(10)} result\n`,
    );
    for (const r of table) rows(out, r, percentile(floors.node ?? [], 50));
    // What a user compares a CLI's start with: kubectl's client (a Go binary), when installed.
    if (kubectl) {
      const v = percentile(table[0]!.build, 50);
      const k = percentile(floors.kubectl ?? [], 50);
      addRow({
        bench: 'cli',
        figure: 'idp --version p50',
        idp: ms(v),
        peer: 'kubectl version --client',
        peerValue: ms(k),
        ratio: `${(v / k).toFixed(1)}× kubectl's`,
        target: '-',
        result: '-',
      });
    }
    out.machine += `, at end ${load()}`;
    process.stdout.write(`(${out.machine}; context: node -e "" ${out['node -e "" p50 (floor)']}`);
    process.stdout.write(kubectl ? `, kubectl version --client ${out['kubectl version --client p50']})\n` : ')\n');
    return out;
  } finally {
    for (const s of servers) await s.stop();
    redis.disconnect();
    rmSync(work, { recursive: true, force: true });
  }
}

/** Drops the snapshots the env:create runs took of the bench staging database. */
async function cleanSnapshots(): Promise<void> {
  await withPg('postgres', async (c) => {
    for (const r of (await c.query(`SELECT datname FROM pg_database WHERE datname LIKE 'idp_snap_${BASE_DB}_%'`))
      .rows) {
      await c.query(`ALTER DATABASE "${r.datname}" IS_TEMPLATE false`);
      await c.query(`DROP DATABASE "${r.datname}" WITH (FORCE)`);
    }
  });
}
