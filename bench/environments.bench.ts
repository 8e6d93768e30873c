// env:create from a staging with a ~200 MB database, 100k Redis keys and 50 secrets, through a real
// `idp server` process and its HTTP API (POST, then polling until ready, as the CLI does),
// measured side by side with the floor: a raw `CREATE DATABASE … TEMPLATE` of the same template
// plus a raw Redis copy of the same keys. Target (issue 5): p50 ≤ 5 s and ≤ 3× the floor.
//
// The staging data is generated once and kept (database idp_bench_staging, keys bench-staging:*)
// so reruns are quick; `IDP_BENCH_REGENERATE=1` rebuilds it.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { Redis } from 'ioredis';

const ROOT = resolve(import.meta.dirname, '..');
const PG_URL = process.env.IDP_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.IDP_BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const BASE_DB = 'idp_bench_staging';
export const PREFIX = 'bench-staging:';
const TARGET_BYTES = 200 * 1024 * 1024;
const KEYS = 100_000;
const RUNS = 5;

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

export async function withPg<T>(db: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const u = new URL(PG_URL);
  u.pathname = `/${db}`;
  const c = new pg.Client({ connectionString: u.toString() });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function prepareStaging(redis: Redis): Promise<{ bytes: number; keys: number }> {
  const regenerate = process.env.IDP_BENCH_REGENERATE === '1';
  const exists = await withPg(
    'postgres',
    async (c) =>
      (await c.query('SELECT pg_database_size($1) AS b FROM pg_database WHERE datname = $1', [BASE_DB])).rows[0]?.b,
  );
  if (regenerate || !exists || Number(exists) < TARGET_BYTES * 0.95) {
    process.stdout.write(`generating ${BASE_DB} (~200 MB) …\n`);
    await withPg('postgres', async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${BASE_DB} WITH (FORCE)`);
      await c.query(`CREATE DATABASE ${BASE_DB}`);
      await c.query(`COMMENT ON DATABASE ${BASE_DB} IS 'idp:base:benchstaging'`);
    });
    await withPg(BASE_DB, async (c) => {
      await c.query(`CREATE TABLE customers (id bigserial PRIMARY KEY, email text NOT NULL, name text NOT NULL)`);
      await c.query(
        `CREATE TABLE events (id bigserial PRIMARY KEY, customer_id bigint NOT NULL, kind text NOT NULL, payload text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
      );
      await c.query(
        `INSERT INTO customers (email, name) SELECT 'c' || i || '@example.com', 'Customer ' || i FROM generate_series(1, 100000) i`,
      );
      for (;;) {
        await c.query(
          `INSERT INTO events (customer_id, kind, payload) SELECT 1 + (i % 100000), 'k' || (i % 7), md5(i::text) || repeat('x', 180) FROM generate_series(1, 200000) i`,
        );
        const size = Number((await c.query('SELECT pg_database_size(current_database()) AS b')).rows[0].b);
        if (size >= TARGET_BYTES) break;
      }
      await c.query(`CREATE INDEX events_customer ON events (customer_id)`);
      await c.query('ANALYZE');
    });
  }
  let keys = 0;
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 5000);
    cursor = next;
    keys += batch.length;
  } while (cursor !== '0');
  if (regenerate || keys !== KEYS) {
    process.stdout.write(`writing ${KEYS} Redis keys under ${PREFIX} …\n`);
    let c2 = '0';
    do {
      const [next, batch] = await redis.scan(c2, 'MATCH', `${PREFIX}*`, 'COUNT', 5000);
      c2 = next;
      if (batch.length) await redis.unlink(...batch);
    } while (c2 !== '0');
    for (let i = 0; i < KEYS; i += 5000) {
      const p = redis.pipeline();
      for (let j = i; j < i + 5000; j++) {
        if (j % 10 === 0) p.set(`${PREFIX}session:${j}`, `{"user":${j},"cart":[1,2,3]}`, 'EX', 86400);
        else if (j % 10 === 1) p.hset(`${PREFIX}profile:${j}`, { name: `user ${j}`, plan: 'pro' });
        else p.set(`${PREFIX}cache:${j}`, `value-${j}-${'v'.repeat(40)}`);
      }
      await p.exec();
    }
    keys = KEYS;
  }
  const bytes = await withPg('postgres', async (c) =>
    Number((await c.query('SELECT pg_database_size($1) AS b', [BASE_DB])).rows[0].b),
  );
  return { bytes, keys };
}

/** The floor: what PostgreSQL and Redis take to copy the same data with nothing around it. */
async function floorOnce(
  template: string,
  redis: Redis,
  i: number,
): Promise<{ total: number; db: number; redis: number }> {
  const name = `idp_bench_floor_${i}`;
  const t0 = performance.now();
  await withPg('postgres', (c) =>
    c.query(`CREATE DATABASE ${name} TEMPLATE ${pg.escapeIdentifier(template)} STRATEGY FILE_COPY`),
  );
  const t1 = performance.now();
  // A raw copy as one would script it: SCAN the prefix, COPY each key in pipelined batches.
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${PREFIX}*`, 'COUNT', 2000);
    cursor = next;
    if (batch.length) {
      const p = redis.pipeline();
      for (const k of batch) p.copy(k, `bench-floor:${k.slice(PREFIX.length)}`);
      await p.exec();
    }
  } while (cursor !== '0');
  const t2 = performance.now();
  await withPg('postgres', (c) => c.query(`DROP DATABASE ${name}`));
  let c2 = '0';
  do {
    const [next, batch] = await redis.scan(c2, 'MATCH', 'bench-floor:*', 'COUNT', 5000);
    c2 = next;
    if (batch.length) await redis.unlink(...batch);
  } while (c2 !== '0');
  return { total: t2 - t0, db: t1 - t0, redis: t2 - t1 };
}

async function waitForHealth(url: string): Promise<void> {
  const until = Date.now() + 60_000;
  while (Date.now() < until) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      /* not yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not start');
}

export async function run(): Promise<Record<string, number | string>> {
  const redis = new Redis(REDIS_URL);
  const work = mkdtempSync(join(tmpdir(), 'idp-bench-env-'));
  const staging = await prepareStaging(redis);
  const secretsFile = join(work, 'secrets.yaml');
  writeFileSync(
    secretsFile,
    Array.from({ length: 50 }, (_, i) => `payments-api/KEY_${i}: bench-secret-value-${i}`).join('\n'),
  );
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
  const port = 18000 + Math.floor(Math.random() * 1000);
  const admin = 'bench-env-admin-token-0123456789';
  const child = spawn(
    process.execPath,
    [
      join(ROOT, 'packages/cli/bin/idp.js'),
      'server',
      '--port',
      String(port),
      '--data-dir',
      join(work, 'data'),
      '--config',
      config,
    ],
    {
      env: { ...process.env, IDP_ADMIN_TOKEN: admin, IDP_LOG_LEVEL: 'warn', IDP_PROXY_PORT: '0' },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHealth(url);
    const tok = await fetch(`${url}/api/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'alice@company.com' }),
    });
    const token = ((await tok.json()) as { token: string }).token;
    const call = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
      });
      return (await res.json()) as any;
    };
    const until = async (name: string, status: string) => {
      for (;;) {
        const env = await call('GET', `/api/environments/${name}`);
        if (env.status === status) return env;
        if (env.status === 'failed') throw new Error(`${name} failed: ${JSON.stringify(env.error)}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    };
    const createOnce = async (name: string) => {
      const t0 = performance.now();
      await call('POST', '/api/environments', { name, from: 'benchstaging', ttl: '1d' });
      const env = await until(name, 'ready');
      const ms = performance.now() - t0;
      await call('DELETE', `/api/environments/${name}`);
      await until(name, 'deleted');
      return { ms, env };
    };

    // The first clone takes the snapshot (pg_dump | pg_restore); reported apart.
    const first = await createOnce('bench-env-first');
    const snapStep = first.env.steps.find((s: any) => s.name === 'database');
    process.stdout.write(
      `first env:create (includes taking the snapshot): ${secs(first.ms)}; database step: ${snapStep.detail}\n`,
    );
    const snapshots = await withPg('postgres', (c) =>
      c.query<{ datname: string }>(
        `SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY datname DESC LIMIT 1`,
        [`idp_snap_${BASE_DB}_`],
      ),
    );
    const template = snapshots.rows[0]?.datname;
    if (!template) throw new Error('no snapshot of the bench staging database was found');

    const idp: number[] = [];
    const floor: number[] = [];
    const floorDb: number[] = [];
    const floorRedis: number[] = [];
    const steps: Record<string, number[]> = {};
    for (let i = 0; i < RUNS; i++) {
      // Interleaved, so both see the same machine load.
      const f = await floorOnce(template, redis, i);
      floor.push(f.total);
      floorDb.push(f.db);
      floorRedis.push(f.redis);
      const r = await createOnce(`bench-env-${i}`);
      idp.push(r.ms);
      for (const s of r.env.steps) (steps[s.name] ??= []).push(s.durationMs);
      process.stdout.write(
        `run ${i + 1}: env:create ${secs(r.ms)} (${r.env.steps.map((s: any) => `${s.name} ${s.durationMs} ms`).join(', ')}); floor ${secs(f.total)} (database ${secs(f.db)}, redis ${secs(f.redis)})\n`,
      );
    }
    const p50 = percentile(idp, 50);
    const fp50 = percentile(floor, 50);
    const out = {
      'staging database': `${(staging.bytes / 1024 / 1024).toFixed(0)} MB`,
      'staging redis keys': staging.keys,
      'staging secrets': 50,
      'env:create p50': secs(p50),
      'env:create p95': secs(percentile(idp, 95)),
      'floor p50': secs(fp50),
      'floor p95': secs(percentile(floor, 95)),
      'floor database p50': secs(percentile(floorDb, 50)),
      'floor redis p50': secs(percentile(floorRedis, 50)),
      'ratio p50 (target <= 3x)': `${(p50 / fp50).toFixed(2)}x`,
      'target p50 <= 5 s': p50 <= 5000 && p50 / fp50 <= 3 ? 'met' : 'MISSED',
      'first create (with snapshot)': secs(first.ms),
    } as Record<string, number | string>;
    for (const [name, xs] of Object.entries(steps)) out[`step ${name} p50`] = `${percentile(xs, 50)} ms`;
    for (const [k, v] of Object.entries(out)) process.stdout.write(`${k.padEnd(30)} ${v}\n`);
    return out;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    redis.disconnect();
    await withPg('postgres', async (c) => {
      for (const r of (await c.query(`SELECT datname FROM pg_database WHERE datname LIKE 'idp_snap_${BASE_DB}_%'`))
        .rows) {
        await c.query(`ALTER DATABASE ${pg.escapeIdentifier(r.datname)} IS_TEMPLATE false`);
        await c.query(`DROP DATABASE ${pg.escapeIdentifier(r.datname)} WITH (FORCE)`);
      }
    });
    rmSync(work, { recursive: true, force: true });
  }
}
