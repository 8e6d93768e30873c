import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { envFixture, PG_ADMIN_URL, storesAvailable, type EnvFixture } from '../support/environments.ts';
import { exited, startServerProcess } from '../support/server.ts';

// Snapshot databases as PostgreSQL lists them, around a real `idp server` process: killed between
// recording a new snapshot of staging and dropping the old one, then started again (nothing is
// left but the current snapshot), then started with staging gone from the config (its snapshot goes).

const ok = await storesAvailable();
const ADMIN = 'snapshots-test-admin-token-0123456789abcdef';
type Proc = Awaited<ReturnType<typeof startServerProcess>>;

async function adminQuery<R extends pg.QueryResultRow>(sql: string, params: unknown[] = [], db?: string) {
  const url = db ? PG_ADMIN_URL.replace(/\/[^/]*$/, `/${db}`) : PG_ADMIN_URL;
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

describe.skipIf(!ok)('snapshot databases are dropped once nothing needs them', { timeout: 240_000 }, () => {
  let fx: EnvFixture;
  let dataDir: string;
  let alice: string;
  let server: Proc | null = null;

  /** This run's snapshots of staging, as pg_database has them. */
  const snapshots = async () =>
    (
      await adminQuery<{ datname: string }>(
        'SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1',
        [`idp_snap_${fx.staging.database}_`],
      )
    ).map((r) => r.datname);
  const start = async (crashAt = '', config = fx.configPath) => {
    server = await startServerProcess(['--data-dir', dataDir, '--config', config], {
      IDP_ADMIN_TOKEN: ADMIN,
      IDP_TEST_CRASH_AT: crashAt,
      IDP_LOG_LEVEL: 'warn',
    });
    return server;
  };
  const stop = async () => {
    if (server && server.child.exitCode === null && server.child.signalCode === null) {
      server.child.kill('SIGTERM');
      await exited(server.child);
    }
    server = null;
  };
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server!.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${alice}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, json: (await res.json().catch(() => undefined)) as any };
  };
  const clone = async (label: string) => {
    const name = fx.envName(label);
    expect((await call('POST', '/api/environments', { name, from: 'staging', ttl: '1d' })).status).toBe(202);
    return name;
  };
  const ready = async (name: string) => {
    const until = Date.now() + 60_000;
    for (;;) {
      const res = await call('GET', `/api/environments/${name}`);
      if (res.json?.status === 'ready') return;
      if (res.json?.status === 'failed' || Date.now() > until) throw new Error(`${name}: ${JSON.stringify(res.json)}`);
      await new Promise((r) => setTimeout(r, 150));
    }
  };

  beforeAll(async () => {
    fx = envFixture();
    dataDir = mkdtempSync(join(tmpdir(), 'idp-snapshots-'));
    await start();
    const res = await fetch(`${server!.url}/api/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'alice@company.com', ttl: '1d' }),
    });
    alice = ((await res.json()) as { token: string }).token;
  }, 120_000);

  afterAll(async () => {
    await stop();
    await fx?.cleanup();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('killed after recording a new snapshot, before dropping the old: the restart leaves only the new one', async () => {
    await ready(await clone('snap-a'));
    const [first] = await snapshots();
    expect(await snapshots()).toEqual([first]);
    await stop();

    // staging changes, so the next clone takes a new snapshot; the process dies right after recording it.
    await adminQuery('INSERT INTO payments (user_id, amount_cents) VALUES (1, 4200)', [], fx.staging.database);
    const crashing = await start('snapshot:recorded');
    await call('POST', '/api/environments', { name: fx.envName('snap-b'), from: 'staging', ttl: '1d' });
    await exited(crashing.child);
    expect(crashing.child.signalCode, crashing.output()).toBe('SIGKILL');
    const both = await snapshots();
    expect(both).toHaveLength(2);
    expect(both).toContain(first);

    await start();
    await ready(fx.envName('snap-b'));
    const [second] = both.filter((n) => n !== first);
    expect(await snapshots()).toEqual([second]);
  });

  it('started with staging gone from the config: its snapshot is dropped, the base database stays', async () => {
    expect(await snapshots()).toHaveLength(1);
    await stop();
    const without = join(fx.dir, 'without-staging.yaml');
    const config = readFileSync(fx.configPath, 'utf8').replace(/\n {4}staging:\n(?: {6}.*\n)+/, '\n');
    expect(config).not.toContain(fx.staging.database);
    writeFileSync(without, config);
    await start('', without);
    expect(await snapshots()).toEqual([]);
    expect(await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [fx.staging.database])).toHaveLength(1);
  });
});
