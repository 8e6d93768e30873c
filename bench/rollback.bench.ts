// Issue 6 benchmark (b): time from a failing canary taking traffic to all traffic back on stable
// (target ≤ 2 health intervals), on this machine with real processes and real traffic.
//
// A control plane in this process (edge proxy on a free port), an environment cloned from a
// staging with its own PostgreSQL database and Redis prefix, and the real payments-api
// (examples/acme/services) in a temporary git repository, released with `git archive`. v1 goes
// straight to 100%; then, RUNS times per kind, a failing release is canaried under steady
// open-loop traffic through the proxy (RATE req/s) and rolled back by the platform:
//
//   health-start  fault.json {"failHealth": true}: /health answers 500 from the start. Such a
//                 canary never passes the health gate before step 1, so it never takes traffic:
//                 reported is the time from the deploy request to the end of the rollout.
//   health-live   /health passes until the replica serves its first request that is not
//                 /health, then answers 500 (a bench-only preload, flip-health.mjs, in the
//                 release; the service itself is unchanged): a canary that goes bad once it
//                 takes traffic, which is what the metric is about. Its replicas log each failing
//                 check, so the figure splits into waiting for `threshold` failures (by definition
//                 between threshold-1 and threshold intervals) and the platform's reaction after
//                 the last of them (issue 6: traffic back on stable within one interval).
//   error-rate    fault.json {"errorRate": 0.5}: half of the canary's requests answer 500.
//
// Every response is timestamped with its x-idp-release header. "The canary takes traffic" is the
// first response the canary served; "all traffic back on stable" is the last one it served (only
// stable answers after it; the traffic goes on for a while after the rollout ended to check). The
// deployment's finishedAt (after the canary's processes have stopped) is reported beside it. At
// RATE 100 and weight 50 the canary answers about every 20 ms, so the last canary answer is within
// about that of the moment the proxy switched (it can even precede the deciding check by a few ms).
//
// deploy.yaml: replicas 2; canary [{weight: 50, pause: 30s}, {weight: 100}];
// healthcheck {interval: 1s, threshold: 3}; rollback {auto: true, on_error_rate: ">1%", min_requests: 20}.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';
import { startServer, type RunningServer } from '@idp/server';

const ROOT = resolve(import.meta.dirname, '..');
const PG_URL = process.env.IDP_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.IDP_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const RUNS = Number(process.env.BENCH_ROLLBACK_RUNS ?? 5);
const RATE = Number(process.env.BENCH_ROLLBACK_RATE ?? 100);
const INTERVAL_S = 1;
const THRESHOLD = 3;
const ERROR_RATE = 0.5;
const TARGET_INTERVALS = 2;
/** Traffic kept going after a rollout ended, to see that no canary answer comes later. */
const TAIL_MS = 1500;
const ADMIN = `bench-rollback-admin-${randomBytes(8).toString('hex')}`;

const deployYaml = (run = 'node server.js') => `service: {name: payments-api, team: payments}
build: {command: npm ci --omit=dev --prefer-offline --no-audit --no-fund}
run: {command: ${run}, replicas: 2}
deploy:
  strategy: canary
  canary:
    - weight: 50
      pause: 30s
    - weight: 100
  healthcheck: {path: /health, interval: ${INTERVAL_S}s, threshold: ${THRESHOLD}}
  rollback: {auto: true, on_error_rate: ">1%", min_requests: 20}
`;

// Preloaded with `node --import`: this replica's /health answers 500 once it has served a request
// that is not /health. Bench-only; written into the temporary repository, not the service.
const FLIP_HEALTH = `import http from 'node:http';
const emit = http.Server.prototype.emit;
let tookTraffic = false;
http.Server.prototype.emit = function (event, ...args) {
  if (event === 'request') {
    const [req, res] = args;
    if ((req.url ?? '/').split('?')[0] !== '/health') tookTraffic = true;
    else if (tookTraffic) {
      // Goes to the replica's log file; the bench reads when each failing check happened.
      process.stdout.write(JSON.stringify({ benchHealthFailedAt: Date.now() }) + '\\n');
      res.writeHead(500, { 'content-type': 'application/json' });
      res.end('{"status":"failing","reason":"bench: unhealthy once serving traffic"}');
      return true;
    }
  }
  return emit.call(this, event, ...args);
};
`;

type Kind = 'health-start' | 'health-live' | 'error-rate';
const KINDS: Kind[] = ['health-start', 'health-live', 'error-rate'];

interface Answer {
  at: number;
  release: string | undefined;
  status: number;
}

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
};

/** Open-loop traffic: request i is due at t0 + i/rate, whatever the earlier ones are doing. */
class Traffic {
  readonly answers: Answer[] = [];
  failures = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight = new Set<Promise<void>>();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 64 });

  constructor(
    private readonly port: number,
    private readonly host: string,
    private readonly rate: number,
  ) {}

  start(): void {
    const t0 = performance.now();
    let sent = 0;
    const tick = () => {
      const due = Math.floor(((performance.now() - t0) / 1000) * this.rate);
      while (sent < due) {
        sent++;
        const p = this.one().finally(() => this.inFlight.delete(p));
        this.inFlight.add(p);
      }
      this.timer = setTimeout(tick, 2);
    };
    tick();
  }

  private one(): Promise<void> {
    return new Promise((resolveOne) => {
      const req = request(
        { host: '127.0.0.1', port: this.port, path: '/', headers: { host: this.host }, agent: this.agent },
        (res) => {
          res.resume();
          res.on('end', () => {
            this.answers.push({
              at: now(),
              release: res.headers['x-idp-release'] as string | undefined,
              status: res.statusCode ?? 0,
            });
            resolveOne();
          });
        },
      );
      req.setTimeout(5000, () => req.destroy(new Error('timeout')));
      req.on('error', () => {
        this.failures++;
        resolveOne();
      });
      req.end();
    });
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    await Promise.all([...this.inFlight]);
    this.agent.destroy();
  }
}

export async function run(): Promise<Record<string, number | string>> {
  const id = randomBytes(3).toString('hex');
  const work = mkdtempSync(join(tmpdir(), 'idp-bench-rollback-'));
  const repo = join(work, 'repo');
  const baseDb = `idp_bench_rb_${id}_staging`;
  const basePrefix = `brb${id}-staging:`;
  const envName = `rollback-${id}`;
  const seed = join(ROOT, 'examples/acme/seed');
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
      owner: platform
      database: ${baseDb}
      redisPrefix: "${basePrefix}"
      seed:
        sql: ${join(seed, 'staging.sql')}
        redis: ${join(seed, 'staging-redis.json')}
        secrets: ${join(seed, 'staging-secrets.yaml')}
`,
  );
  let server: RunningServer | undefined;
  let traffic: Traffic | undefined;
  let token = ADMIN;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server!.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, json: (await res.json().catch(() => undefined)) as any };
  };
  try {
    server = await startServer({
      port: 0,
      proxyPort: 0,
      dataDir: join(work, 'data'),
      configPath: config,
      adminToken: ADMIN,
      logLevel: 'warn',
      log: () => {},
      environmentTimers: false,
      catalogTimer: false,
    });
    token = (await call('POST', '/api/tokens', { user: 'alice@company.com', ttl: '1d' })).json.token;
    const made = await call('POST', '/api/environments', { name: envName, from: 'benchstaging', ttl: '1d' });
    if (made.status !== 202) throw new Error(`env:create: ${JSON.stringify(made.json)}`);
    for (;;) {
      const env = (await call('GET', `/api/environments/${envName}`)).json;
      if (env.status === 'ready') break;
      if (env.status === 'failed') throw new Error(`env:create failed: ${JSON.stringify(env.error)}`);
      await sleep(100);
    }

    cpSync(join(ROOT, 'examples/acme/services/payments-api'), repo, {
      recursive: true,
      filter: (s) => !s.includes('node_modules'),
    });
    writeFileSync(join(repo, '.idp/deploy.yaml'), deployYaml());
    writeFileSync(join(repo, 'flip-health.mjs'), FLIP_HEALTH);
    execFileSync('git', ['init', '-q'], { cwd: repo });
    const commit = (message: string) => {
      execFileSync('git', ['add', '-A'], { cwd: repo });
      execFileSync('git', ['-c', 'user.name=bench', '-c', 'user.email=bench@example.com', 'commit', '-qm', message], {
        cwd: repo,
      });
      return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: repo, encoding: 'utf8' }).trim();
    };
    const release = async (sha: string) => {
      const tar = execFileSync('git', ['archive', '--format=tar', sha], { cwd: repo, maxBuffer: 64 * 1024 * 1024 });
      const res = await fetch(`${server!.url}/api/releases?service=payments-api&commit=${sha}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/x-tar' },
        body: tar,
      });
      const json = (await res.json()) as any;
      if (res.status !== 201 && res.status !== 200) throw new Error(`release: ${JSON.stringify(json)}`);
      return json.version as string;
    };
    const deployAndWait = async (version: string) => {
      const res = await call('POST', '/api/deployments', { service: 'payments-api', env: envName, version });
      if (res.status !== 202) throw new Error(`deploy: ${JSON.stringify(res.json)}`);
      const until = Date.now() + 120_000;
      for (;;) {
        const dep = (await call('GET', `/api/deployments/${res.json.id}`)).json;
        if (['healthy', 'rolled_back', 'aborted', 'failed'].includes(dep.status)) return dep;
        if (Date.now() > until) throw new Error(`deployment did not end: ${JSON.stringify(dep)}`);
        await sleep(50);
      }
    };

    const v1 = await release(commit('v1'));
    const first = await deployAndWait(v1);
    if (first.status !== 'healthy') throw new Error(`v1 did not become healthy: ${first.reason}`);
    const proxyPort = server.services.deployments.service.proxyPort;
    const host = `payments-api.${first.namespace}.localhost`;
    process.stdout.write(
      `stable v1 ${v1} serving on ${host} (proxy port ${proxyPort}); ${RUNS} runs per kind at ${RATE} req/s; healthcheck interval ${INTERVAL_S}s, threshold ${THRESHOLD}; error-rate canary at ${ERROR_RATE}\n`,
    );

    const results: Record<
      Kind,
      Array<{
        toStable: number | null;
        toFinished: number | null;
        deployToFinished: number;
        toFirstFail: number | null;
        detectToStable: number | null;
        canaryAnswers: number;
        lateAnswers: number;
        stableErrors: number;
        reason: string;
      }>
    > = {
      'health-start': [],
      'health-live': [],
      'error-rate': [],
    };
    for (let i = 0; i < RUNS; i++) {
      for (const kind of KINDS) {
        writeFileSync(
          join(repo, 'fault.json'),
          JSON.stringify(
            kind === 'health-start'
              ? { failHealth: true }
              : kind === 'error-rate'
                ? { errorRate: ERROR_RATE }
                : { errorRate: 0 },
          ) + '\n',
        );
        writeFileSync(
          join(repo, '.idp/deploy.yaml'),
          deployYaml(kind === 'health-live' ? 'node --import ./flip-health.mjs server.js' : 'node server.js'),
        );
        const version = await release(commit(`${kind} run ${i + 1}`));
        traffic = new Traffic(proxyPort, host, RATE);
        traffic.start();
        await sleep(300);
        const deployAt = now();
        const dep = await deployAndWait(version);
        await sleep(TAIL_MS);
        await traffic.stop();
        const { answers, failures } = traffic;
        traffic = undefined;
        const finishedAt = Date.parse(dep.finishedAt);
        const canary = answers.filter((a) => a.release?.endsWith(`@${version}`));
        const stableErrors =
          answers.filter((a) => !a.release?.endsWith(`@${version}`) && a.status !== 200).length + failures;
        const firstAt = canary.length ? Math.min(...canary.map((a) => a.at)) : null;
        const lastAt = canary.length ? Math.max(...canary.map((a) => a.at)) : null;
        // health-live: when each replica answered its failing checks (they fail for good once they do).
        const logDir = join(
          server.services.environments.namespaceDir(first.namespace),
          'logs',
          'payments-api',
          version,
        );
        const fails = [0, 1].map((i) => {
          const file = join(logDir, `replica-${i}.log`);
          if (!existsSync(file)) return [];
          return readFileSync(file, 'utf8')
            .split('\n')
            .flatMap((line) => {
              const m = /"benchHealthFailedAt":(\d+)/.exec(line);
              return m ? [Number(m[1])] : [];
            })
            .sort((a, b) => a - b);
        });
        const firstFail = fails.some((f) => f.length)
          ? Math.min(...fails.filter((f) => f.length).map((f) => f[0]!))
          : null;
        const reached = fails.filter((f) => f.length >= THRESHOLD).map((f) => f[THRESHOLD - 1]!);
        const detectedAt = reached.length ? Math.min(...reached) : null;
        const r = {
          toStable: firstAt !== null && lastAt !== null ? lastAt - firstAt : null,
          toFinished: firstAt !== null ? finishedAt - firstAt : null,
          deployToFinished: finishedAt - deployAt,
          toFirstFail: firstFail !== null && firstAt !== null ? firstFail - firstAt : null,
          detectToStable: detectedAt !== null && lastAt !== null ? lastAt - detectedAt : null,
          canaryAnswers: canary.length,
          lateAnswers: canary.filter((a) => a.at > finishedAt).length,
          stableErrors,
          reason: `${dep.status}: ${dep.reason}`,
        };
        results[kind].push(r);
        process.stdout.write(
          `run ${i + 1} ${kind.padEnd(12)} ` +
            (r.toStable === null
              ? 'canary served no request'
              : `canary first→last answer ${r.toStable.toFixed(0)} ms (${(r.toStable / 1000 / INTERVAL_S).toFixed(2)} intervals), first→finishedAt ${r.toFinished!.toFixed(0)} ms`) +
            (r.detectToStable === null
              ? ''
              : `; first failing check ${r.toFirstFail!.toFixed(0)} ms after the first canary answer, last canary answer ${r.detectToStable.toFixed(0)} ms after failing check ${THRESHOLD}`) +
            `; deploy→finishedAt ${r.deployToFinished.toFixed(0)} ms; canary answers ${r.canaryAnswers} (${r.lateAnswers} after finishedAt); stable non-200/failed ${r.stableErrors}; ${r.reason}\n`,
        );
      }
    }

    const out: Record<string, number | string> = {
      'health interval / threshold': `${INTERVAL_S} s / ${THRESHOLD}`,
      traffic: `${RATE} req/s, canary weight 50%`,
      'runs per kind': RUNS,
    };
    const ms = (x: number) => `${x.toFixed(0)} ms`;
    const iv = (x: number) => `${(x / 1000 / INTERVAL_S).toFixed(2)}`;
    for (const kind of KINDS) {
      const rs = results[kind];
      const took = rs.map((r) => r.toStable).filter((x): x is number => x !== null);
      const toFinished = rs.map((r) => r.toFinished).filter((x): x is number => x !== null);
      const deployTo = rs.map((r) => r.deployToFinished);
      out[`${kind} canary answers p50`] = percentile(
        rs.map((r) => r.canaryAnswers),
        50,
      );
      if (took.length) {
        out[`${kind} to stable p50`] = `${ms(percentile(took, 50))} (${iv(percentile(took, 50))} intervals)`;
        out[`${kind} to stable max`] = `${ms(percentile(took, 100))} (${iv(percentile(took, 100))} intervals)`;
        out[`${kind} to finishedAt p50`] = ms(percentile(toFinished, 50));
        out[`${kind} target <= ${TARGET_INTERVALS} intervals`] =
          percentile(took, 100) <= TARGET_INTERVALS * INTERVAL_S * 1000
            ? 'met'
            : percentile(took, 50) <= TARGET_INTERVALS * INTERVAL_S * 1000
              ? 'p50 met, max MISSED'
              : 'MISSED';
      } else {
        out[`${kind} to stable`] = 'n/a: the canary never took traffic';
      }
      const detect = rs.map((r) => r.detectToStable).filter((x): x is number => x !== null);
      if (detect.length) {
        const firstFail = rs.map((r) => r.toFirstFail).filter((x): x is number => x !== null);
        out[`${kind} to 1st failing check p50`] =
          `${ms(percentile(firstFail, 50))} (max ${ms(percentile(firstFail, 100))})`;
        out[`${kind} failing check ${THRESHOLD} to stable p50`] =
          `${ms(percentile(detect, 50))} (max ${ms(percentile(detect, 100))}; target: within 1 interval)`;
      }
      out[`${kind} deploy to finishedAt p50`] = ms(percentile(deployTo, 50));
      out[`${kind} answers after finishedAt`] = rs.reduce((n, r) => n + r.lateAnswers, 0);
      out[`${kind} stable errors`] = rs.reduce((n, r) => n + r.stableErrors, 0);
    }
    for (const [k, v] of Object.entries(out)) process.stdout.write(`${k.padEnd(44)} ${v}\n`);
    return out;
  } finally {
    await traffic?.stop().catch(() => {});
    if (server) {
      await call('DELETE', `/api/environments/${envName}`).catch(() => {});
      for (let i = 0; i < 300; i++) {
        const env = await call('GET', `/api/environments/${envName}`).catch(() => undefined);
        if (!env || env.status === 404 || ['deleted', 'failed'].includes(env.json?.status)) break;
        await sleep(100);
      }
      await server.services.environments.idle().catch(() => {});
      await server.close();
    }
    await dropStores(baseDb, basePrefix, envName);
    rmSync(work, { recursive: true, force: true });
  }
}

/** The base database, its snapshots and keys, and anything the clone left if its deletion failed. */
async function dropStores(baseDb: string, basePrefix: string, envName: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  const r = new Redis(REDIS_URL);
  try {
    await c.connect();
    const dbs = (
      await c.query<{ datname: string }>(
        'SELECT datname FROM pg_database WHERE datname = $1 OR starts_with(datname, $2) OR datname = $3',
        [baseDb, `idp_snap_${baseDb}`, `pg-${envName}`],
      )
    ).rows.map((x) => x.datname);
    for (const d of dbs) {
      await c.query(`ALTER DATABASE ${pg.escapeIdentifier(d)} IS_TEMPLATE false`).catch(() => {});
      await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(d)} WITH (FORCE)`);
    }
    await c.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(`pg-${envName}`)}`).catch(() => {});
    for (const pattern of [`${basePrefix}*`, `redis-${envName}:*`]) {
      const keys = await r.keys(pattern);
      if (keys.length) await r.del(...keys);
    }
    await r.call('ACL', 'DELUSER', `redis-${envName}`).catch(() => {});
  } finally {
    await c.end().catch(() => {});
    r.disconnect();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
