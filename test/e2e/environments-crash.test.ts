import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { Redis } from 'ioredis';
import { api, exited, startServerProcess } from '../support/server.ts';
import {
  envFixture,
  REDIS_URL,
  storesAvailable,
  waitForEnvironment,
  type EnvFixture,
} from '../support/environments.ts';

// The control plane is SIGKILLed in the middle of every provisioning and deletion step (it kills
// itself at IDP_TEST_CRASH_AT, after the step's first change), then started again: each time the
// environment must end ready with all of its data, or deleted with nothing left behind in
// PostgreSQL or Redis.

const ok = await storesAvailable();
const ADMIN = 'crash-test-admin-token-0123456789abcdef';

type Proc = Awaited<ReturnType<typeof startServerProcess>>;

describe.skipIf(!ok)('environments survive a SIGKILL at every step', () => {
  let fx: EnvFixture;
  let dataDir: string;
  let alice: string;
  let server: Proc | null = null;

  const start = async (crashAt?: string): Promise<Proc> => {
    server = await startServerProcess(['--data-dir', dataDir, '--config', fx.configPath], {
      IDP_ADMIN_TOKEN: ADMIN,
      IDP_TEST_CRASH_AT: crashAt ?? '',
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
  const call = (method: string, path: string, body?: unknown) => api(server!, alice, method, path, body);
  const waitStatus = (name: string, statuses: string[]) =>
    waitForEnvironment(server!, alice, name, statuses, { interval: 150 });
  const died = async (p: Proc) => {
    await exited(p.child);
    expect(p.child.signalCode, p.output()).toBe('SIGKILL');
    server = null;
  };

  beforeAll(async () => {
    fx = envFixture();
    dataDir = mkdtempSync(join(tmpdir(), 'idp-crash-'));
    await start();
    const res = await fetch(`${server!.url}/api/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'alice@company.com', ttl: '1d' }),
    });
    alice = ((await res.json()) as { token: string }).token;
    await stop();
  }, 60_000);

  afterAll(async () => {
    await stop();
    await fx?.cleanup();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  const createPoints = ['namespace', 'database', 'database:created', 'redis', 'secrets'];
  const made: string[] = [];

  it.each(createPoints)(
    'killed during create step %s: the restart resumes it to ready, data complete',
    async (point) => {
      const name = fx.envName(`c-${point.replace(':', '-')}`);
      made.push(name);
      const crashing = await start(point);
      expect((await call('POST', '/api/environments', { name, from: 'staging' })).status).toBe(202);
      await died(crashing);

      await start();
      const env = await waitStatus(name, ['ready', 'failed']);
      expect(env.status, JSON.stringify(env.steps)).toBe('ready');
      const step = env.steps.find((s: any) => s.name === point.split(':')[0]);
      expect(step.attempts).toBe(2);

      const { variables } = (await call('POST', `/api/environments/${name}/connect`)).json;
      const c = new pg.Client({ connectionString: variables.DATABASE_URL });
      await c.connect();
      const n = (await c.query('SELECT count(*) AS n FROM payments')).rows[0].n;
      await c.end();
      expect(Number(n)).toBe(1000);
      const r = new Redis(REDIS_URL);
      expect((await r.keys(`redis-${name}:*`)).length).toBe((await r.keys(`${fx.staging.redisPrefix}*`)).length);
      r.disconnect();
      // All four were copied; alice (payments) may list the three of payments-api and notifications-service.
      expect((await call('GET', `/api/secrets?env=${name}`)).json.items.map((s: any) => s.service).sort()).toEqual([
        'notifications-service',
        'payments-api',
        'payments-api',
      ]);
      await stop();
    },
    120_000,
  );

  const deletePoints = ['delete:namespace', 'delete:database', 'delete:redis'];

  it.each(deletePoints)(
    'killed during %s: the restart finishes the deletion, nothing left',
    async (point) => {
      const name = made.shift() ?? fx.envName(`d-${point.replace(':', '-')}`);
      const crashing = await start(point);
      expect((await call('DELETE', `/api/environments/${name}`)).status).toBe(202);
      await died(crashing);
      await start();
      const env = await waitStatus(name, ['deleted', 'failed']);
      expect(env.status, JSON.stringify(env.steps)).toBe('deleted');
      expect(env.steps.find((s: any) => s.name === point).attempts).toBe(2);
      await stop();
    },
    120_000,
  );

  it('leaves no orphan database, role, Redis key or ACL user once every environment is deleted', async () => {
    await start();
    for (const name of made) await call('DELETE', `/api/environments/${name}`);
    for (const name of made) await waitStatus(name, ['deleted']);
    await stop();
    expect(await fx.leftovers()).toEqual({ databases: [], roles: [], keys: [], users: [] });
  }, 120_000);
});
