// Issue 13 benchmark: time to first deploy on a golden path (target: p50 ≤ 60 s on this machine).
//
// A real `idp server` process on a fresh envFixture config (its own staging in PostgreSQL and
// Redis) with the demo's templates (examples/acme/templates, from the config's catalog location)
// and publish remote (file:///tmp/idp-git/). RUNS times, as Alice: `idp create node-service --set
// name=<new>` through the real bin, with its defaults (publish to a new bare repository, register
// the Component, clone an environment from staging, deploy, wait until healthy). Measured: from
// spawning the CLI to the first 200 answer of GET /health of the new service through the edge
// proxy (polled every POLL_MS on new connections while the CLI runs). Each phase's share comes from
// the task's own step timings (startedAt → finishedAt); the rest from its timestamps: the CLI's
// start and request (to the task's createdAt), the task waiting for its runner, the gaps between
// steps, and from the last step's end to the first answer (negative: the proxy answered before
// idp:deploy's poll saw the deployment healthy). Each run's
// environment is deleted before the next one (5 live environments per person).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { proxyGet } from '../test/support/deploy.ts';
import { envFixture, storesAvailable } from '../test/support/environments.ts';
import { defaultEnvironment, goldenPathConfig, removeRemote, userToken } from '../test/support/golden-path.ts';
import { CLI_BIN, ROOT, api, exited, freePort } from '../test/support/server.ts';

const RUNS = Number(process.env.BENCH_GOLDEN_RUNS ?? 5);
const POLL_MS = 20;
const TARGET_MS = 60_000;
const PHASES = [
  ['fetch', 'fetch + render'],
  ['publish', 'publish (git)'],
  ['register', 'register (catalog)'],
  ['environment', 'environment create'],
  ['deploy', 'deploy (healthy)'],
] as const;

/** What is not a step: the CLI's start and request, the task waiting for its runner, gaps, the end. */
const EXTRA = [
  ['cli', 'cli start → task'],
  ['queue', 'task → first step'],
  ['gaps', 'between steps'],
  ['after', 'last step → answer'],
] as const;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};

/** `idp create node-service --set name=<name>` as Alice; resolves with its exit code and output. */
function create(url: string, token: string, name: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, 'create', 'node-service', '--set', `name=${name}`], {
      cwd: ROOT,
      env: { ...process.env, IDP_URL: url, IDP_TOKEN: token, IDP_CONFIG_DIR: join(tmpdir(), 'idp-cli-none') },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, out }));
  });
}

/** Resolves with the time of the first 200 of /health through the proxy (stops when `stop()` says so). */
async function firstHealthy(proxyPort: number, host: string, stop: () => boolean): Promise<number | undefined> {
  while (!stop()) {
    const r = await proxyGet(proxyPort, host, '/health', { newConnection: true, timeoutMs: 2000 }).catch(() => null);
    if (r?.status === 200) return performance.now();
    await sleep(POLL_MS);
  }
  return undefined;
}

/** `idp server` as a child process (the tests' helper waits with vitest, which a bench has not). */
async function startIdpServer(config: string, dataDir: string, admin: string) {
  const [port, proxyPort] = [await freePort(), await freePort()];
  const child = spawn(
    process.execPath,
    [CLI_BIN, 'server', '--port', String(port), '--data-dir', dataDir, '--config', config],
    {
      cwd: ROOT,
      env: { ...process.env, IDP_ADMIN_TOKEN: admin, IDP_PROXY_PORT: String(proxyPort), IDP_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  for (const end = Date.now() + 120_000; ; await sleep(100)) {
    if (child.exitCode !== null) throw new Error(`idp server exited ${child.exitCode}: ${output}`);
    if ((await fetch(`${url}/healthz`).catch(() => null))?.ok) break;
    if (Date.now() > end) throw new Error(`idp server did not answer: ${output}`);
  }
  return { proc: { child, url }, proxyPort };
}

export async function run(): Promise<Record<string, number | string>> {
  if (!(await storesAvailable())) throw new Error('golden-path bench: needs PostgreSQL and Redis');
  const fx = envFixture();
  const config = goldenPathConfig(fx);
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-bench-golden-'));
  const admin = `bench-golden-admin-${randomBytes(12).toString('hex')}`;
  const server = await startIdpServer(config, dataDir, admin);
  const names: string[] = [];
  const totals: number[] = [];
  const phaseMs: Record<string, number[]> = Object.fromEntries(
    [...PHASES.map(([id]) => id), ...EXTRA.map(([id]) => id)].map((k) => [k, []]),
  );
  try {
    const alice = await userToken(server.proc, admin, 'alice');
    for (let i = 0; i < RUNS; i++) {
      const name = `gp-bench-${fx.id}-${i}`;
      names.push(name);
      const env = defaultEnvironment(name);
      const host = `${name}.${env}-alice.localhost`;
      let cliDone = false;
      let healthyAt: number | undefined;
      const t0 = performance.now();
      const t0Wall = Date.now();
      const health = firstHealthy(server.proxyPort, host, () => healthyAt !== undefined || cliDone).then(
        (t) => (healthyAt = t),
      );
      const cli = await create(server.proc.url, alice, name);
      if (cli.code !== 0) throw new Error(`idp create ${name} exited ${cli.code}:\n${cli.out}`);
      // The CLI returns once the task completed (the deployment healthy); the first answer may trail it a little.
      const deadline = performance.now() + 10_000;
      while (healthyAt === undefined && performance.now() < deadline) await sleep(POLL_MS);
      cliDone = true;
      await health;
      if (healthyAt === undefined) throw new Error(`${host}: no healthy answer through the proxy`);
      const total = healthyAt - t0;
      totals.push(total);

      const tasks = (await api(server.proc, alice, 'GET', '/api/tasks?createdBy=me')).json.items;
      const task = tasks.find((t: any) => t.values?.name === name);
      const steps = Object.fromEntries(
        task.steps.map((s: any) => [s.id, Date.parse(s.finishedAt) - Date.parse(s.startedAt)]),
      );
      let inSteps = 0;
      for (const [id] of PHASES) {
        phaseMs[id]!.push(steps[id] ?? 0);
        inSteps += steps[id] ?? 0;
      }
      // The rest, from the task's timestamps (the control plane's clock is this machine's):
      const created = Date.parse(task.createdAt);
      const firstStart = Date.parse(task.steps[0].startedAt);
      const lastEnd = Date.parse(task.steps[task.steps.length - 1].finishedAt);
      const healthyWall = t0Wall + total;
      phaseMs.cli!.push(created - t0Wall);
      phaseMs.queue!.push(firstStart - created);
      phaseMs.gaps!.push(lastEnd - firstStart - inSteps);
      // Negative when the proxy answered before the deploy step saw the deployment healthy.
      phaseMs.after!.push(healthyWall - lastEnd);
      process.stdout.write(
        `run ${i + 1}/${RUNS}: ${(total / 1000).toFixed(2)} s to the first healthy answer (${PHASES.map(([id]) => `${id} ${steps[id]} ms`).join(', ')})\n`,
      );
      // Stay within 5 live environments per person.
      await api(server.proc, alice, 'DELETE', `/api/environments/${env}`);
      for (let t = 0; t < 300; t++) {
        const res = await api(server.proc, alice, 'GET', `/api/environments/${env}`);
        if (res.status === 404 || res.json?.status === 'deleted') break;
        await sleep(100);
      }
    }
  } finally {
    server.proc.child.kill('SIGTERM');
    await exited(server.proc.child);
    for (const n of names) removeRemote(n);
    await fx.cleanup();
    rmSync(dataDir, { recursive: true, force: true });
  }

  const p50 = percentile(totals, 50);
  const figures: Record<string, number | string> = {
    runs: RUNS,
    'time to first deploy p50 ms': Math.round(p50),
    'time to first deploy max ms': Math.round(Math.max(...totals)),
    'target ≤ 60 s': p50 <= TARGET_MS ? 'met' : 'MISSED',
  };
  process.stdout.write(`\ntime to first deploy (idp create → first healthy answer through the proxy), ${RUNS} runs\n`);
  process.stdout.write(
    `  p50 ${(p50 / 1000).toFixed(2)} s, min ${(Math.min(...totals) / 1000).toFixed(2)} s, max ${(Math.max(...totals) / 1000).toFixed(2)} s (target ≤ 60 s: ${figures['target ≤ 60 s']})\n`,
  );
  process.stdout.write(
    '  phase                 p50 ms   share of the p50 total (medians of each phase: they need not add up to 100%)\n',
  );
  for (const [id, label] of [...PHASES, ...EXTRA]) {
    const m = percentile(phaseMs[id]!, 50);
    process.stdout.write(
      `  ${label.padEnd(22)}${String(Math.round(m)).padStart(6)}   ${((m / p50) * 100).toFixed(0)}%\n`,
    );
    figures[`${id} p50 ms`] = Math.round(m);
  }
  return figures;
}
