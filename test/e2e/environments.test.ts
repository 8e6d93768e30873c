import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { Redis } from 'ioredis';
import { ACME_REAL_CONFIG, api, startTestServer, type TestServer } from '../support/server.ts';
import {
  envFixture,
  PG_ADMIN_URL,
  REDIS_URL,
  storesAvailable,
  waitForEnvironment,
  type EnvFixture,
} from '../support/environments.ts';
import { userTokens } from '../support/tokens.ts';
import { fakeClock, webhookReceiver, type FakeClock } from './secrets-fixtures.ts';

// Self-service environments through the real HTTP API, against the machine's real PostgreSQL
// and Redis: what env:create makes is checked with separate clients, not through idp.

const ok = await storesAvailable();

async function query<T extends pg.QueryResultRow>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text, params)).rows;
  } finally {
    await c.end();
  }
}

describe.skipIf(!ok)('environments (real PostgreSQL and Redis)', () => {
  let fx: EnvFixture;
  let server: TestServer;
  let clock: FakeClock;
  let t: Record<string, string>;
  let redis: Redis;

  beforeAll(async () => {
    fx = envFixture();
    clock = fakeClock();
    server = await startTestServer({ configPath: fx.configPath, clock, environmentTimers: false });
    t = await userTokens(server, ['alice', 'bob', 'dave', 'frank']);
    redis = new Redis(REDIS_URL);
  }, 60_000);

  afterAll(async () => {
    await server?.services.environments.idle();
    await server?.stop();
    redis?.disconnect();
    await fx?.cleanup();
  });

  it('seeds the base staging environment on first start: tables with rows, Redis keys, secrets', async () => {
    const rows = await query<{ n: string }>(
      PG_ADMIN_URL.replace(/\/[^/]*$/, `/${fx.staging.database}`),
      'SELECT count(*) AS n FROM payments',
    );
    expect(Number(rows[0]!.n)).toBe(1000);
    expect(await redis.get(`${fx.staging.redisPrefix}feature-flags:new-checkout`)).toBe('on');
    const list = await api(server, t.frank!, 'GET', '/api/environments?scope=all');
    expect(list.json.items.map((e: any) => [e.name, e.kind]).sort()).toEqual([
      ['cache', 'base'],
      ['production', 'base'],
      ['staging', 'base'],
    ]);
  });

  it('clones staging: a real database with its data and own role, the keys with TTLs under an ACL user, the secrets; staging undisturbed', async () => {
    const name = fx.envName('feature-payments');
    // A session open on staging during the clone must survive it (we never terminate staging's connections).
    const stagingSession = new pg.Client({
      connectionString: PG_ADMIN_URL.replace(/\/[^/]*$/, `/${fx.staging.database}`),
    });
    stagingSession.on('error', () => {});
    await stagingSession.connect();
    await stagingSession.query('BEGIN');
    await stagingSession.query('SELECT count(*) FROM payments');

    const res = await api(server, t.alice!, 'POST', '/api/environments', { name, from: 'staging', ttl: '3d' });
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({
      name,
      sourceEnv: 'staging',
      owner: 'alice@company.com',
      ttl: '3d',
      status: 'provisioning',
      resources: {
        namespace: `${name}-alice`,
        database: `pg-${name}`,
        redis: `redis-${name}`,
        secrets: 'copied from staging vault',
      },
    });
    const env = await waitForEnvironment(server, t.alice!, name, ['ready', 'failed']);
    expect(env.status, JSON.stringify(env.steps)).toBe('ready');
    expect(env.steps.map((s: any) => [s.name, s.status])).toEqual([
      ['namespace', 'done'],
      ['database', 'done'],
      ['redis', 'done'],
      ['secrets', 'done'],
    ]);
    for (const s of env.steps) expect(s.durationMs).toBeGreaterThanOrEqual(0);
    expect(env.provisioningMs).toBeGreaterThanOrEqual(0);
    expect(Date.parse(env.expiresAt) - Date.parse(env.createdAt)).toBe(3 * 86400 * 1000);
    expect(JSON.stringify(env)).not.toMatch(/password/i);

    expect(Number((await stagingSession.query('SELECT count(*) AS n FROM payments')).rows[0].n)).toBe(1000);
    await stagingSession.query('COMMIT');
    await stagingSession.end();

    const conn = await api(server, t.alice!, 'POST', `/api/environments/${name}/connect`);
    expect(conn.status).toBe(200);
    const { DATABASE_URL, REDIS_URL: envRedis, REDIS_KEY_PREFIX } = conn.json.variables;
    expect(REDIS_KEY_PREFIX).toBe(`redis-${name}:`);
    // The clone has staging's schema and data, owned by its own role, which can write to it ...
    const [copy] = await query<{ n: string; owner: string; me: string }>(
      DATABASE_URL,
      `SELECT (SELECT count(*) FROM payments) AS n, (SELECT tableowner FROM pg_tables WHERE tablename = 'payments') AS owner, current_user AS me`,
    );
    expect({ ...copy, n: Number(copy!.n) }).toEqual({ n: 1000, owner: `pg-${name}`, me: `pg-${name}` });
    await query(DATABASE_URL, `INSERT INTO payments (user_id, amount_cents) VALUES (1, 4200)`);
    await query(DATABASE_URL, `ALTER TABLE payments ADD COLUMN note text`);
    const [base] = await query<{ n: string }>(
      PG_ADMIN_URL.replace(/\/[^/]*$/, `/${fx.staging.database}`),
      'SELECT count(*) AS n FROM payments',
    );
    expect(Number(base!.n)).toBe(1000);
    // ... and cannot reach staging's database.
    const toStaging = new URL(DATABASE_URL);
    toStaging.pathname = `/${fx.staging.database}`;
    await expect(query(toStaging.toString(), 'SELECT 1')).rejects.toThrow(/permission denied/);

    // Redis: the keys with their TTLs, under the prefix; the ACL user cannot see staging's keys.
    expect(await redis.get(`redis-${name}:feature-flags:new-checkout`)).toBe('on');
    const ttl = await redis.ttl(`redis-${name}:session:demo-customer-1`);
    expect(ttl).toBeGreaterThan(80_000);
    const scoped = new Redis(envRedis);
    try {
      expect(await scoped.get(`redis-${name}:payments:count`)).toBe('1000');
      await scoped.set(`redis-${name}:mine`, '1');
      await expect(scoped.get(`${fx.staging.redisPrefix}payments:count`)).rejects.toThrow(/NOPERM/);
      await expect(scoped.flushall()).rejects.toThrow(/NOPERM/);
    } finally {
      scoped.disconnect();
    }

    // Secrets: every staging secret under the new environment, readable by the owning team.
    const secret = await api(server, t.alice!, 'GET', `/api/secrets/${name}/payments-api/STRIPE_KEY`);
    expect(secret.status).toBe(200);
    expect(secret.json.value).toMatch(/^sk_test_/);
    const listed = await api(server, t.frank!, 'GET', `/api/secrets?env=${name}`);
    expect(listed.json.items).toHaveLength(4);
  });

  it('base environments hand out workload credentials, never the admin connection', async () => {
    const conn = await api(server, t.frank!, 'POST', '/api/environments/staging/connect');
    expect(conn.status, conn.text).toBe(200);
    const { DATABASE_URL, REDIS_URL: baseRedis } = conn.json.variables;
    expect(new URL(DATABASE_URL).username).toBe(`${fx.staging.database}_app`);
    const [me] = await query<{ n: string; su: boolean }>(
      DATABASE_URL,
      `SELECT (SELECT count(*) FROM payments) AS n, (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) AS su`,
    );
    expect([Number(me!.n), me!.su]).toEqual([1000, false]);
    await expect(query(DATABASE_URL, 'CREATE DATABASE nope')).rejects.toThrow(/permission denied/);
    const scoped = new Redis(baseRedis);
    try {
      expect(await scoped.get(`${fx.staging.redisPrefix}feature-flags:new-checkout`)).toBe('on');
      await expect(scoped.get(`${fx.cache.redisPrefix}counter`)).rejects.toThrow(/NOPERM/);
    } finally {
      scoped.disconnect();
    }
    // Only admins connect to a base environment by default.
    expect((await api(server, t.alice!, 'POST', '/api/environments/staging/connect')).status).toBe(403);
  });

  it('rejects bad input before anything is made, with a code and the field', async () => {
    const cases: Array<[unknown, number, string, string | undefined]> = [
      [{ name: 'x; DROP DATABASE staging', from: 'staging' }, 400, 'INVALID_NAME', 'name'],
      [{ name: 'a'.repeat(41), from: 'staging' }, 400, 'INVALID_NAME', 'name'],
      [{ name: 'Feature', from: 'staging' }, 400, 'INVALID_NAME', 'name'],
      [{ name: 'staging', from: 'staging' }, 400, 'ENV_NAME_RESERVED', 'name'],
      [{ name: fx.envName('nope'), from: 'nowhere' }, 400, 'ENV_SOURCE_INVALID', 'from'],
      [{ name: fx.envName('nope'), from: 'staging', ttl: 'forever' }, 400, 'INVALID_DURATION', 'ttl'],
      [{ name: fx.envName('nope'), from: 'staging', ttl: '30d' }, 400, 'ENV_TTL_TOO_LONG', 'ttl'],
      [{ name: fx.envName('nope'), from: 'staging', extra: 1 }, 400, 'VALIDATION_FAILED', undefined],
    ];
    for (const [body, status, code, field] of cases) {
      const res = await api(server, t.alice!, 'POST', '/api/environments', body);
      expect([res.status, res.json.error.code], JSON.stringify(body)).toEqual([status, code]);
      if (field) expect(res.json.error.details.field).toBe(field);
      expect(res.json.error.details.hint).toBeTruthy();
    }
    const prod = await api(server, t.frank!, 'POST', '/api/environments', {
      name: fx.envName('prod-copy'),
      from: 'production',
    });
    expect(prod.status).toBe(403);
    expect(prod.json.error.details.forbiddenBy).toEqual(['environments/no-production-clones']);
    const leftovers = await fx.leftovers();
    expect(leftovers.databases.filter((d) => d.includes('nope') || d.includes('prod-copy'))).toEqual([]);
    expect((await api(server, t.alice!, 'GET', `/api/environments/${fx.envName('nope')}`)).status).toBe(404);
  });

  it('two concurrent env:create with the same name: exactly one succeeds, the other gets ENV_EXISTS', async () => {
    const name = fx.envName('race');
    const [a, b] = await Promise.all([
      api(server, t.alice!, 'POST', '/api/environments', { name, from: 'cache' }),
      api(server, t.bob!, 'POST', '/api/environments', { name, from: 'cache' }),
    ]);
    expect([a.status, b.status].sort()).toEqual([202, 409]);
    expect([a, b].find((r) => r.status === 409)!.json.error.code).toBe('ENV_EXISTS');
    const winner = a.status === 202 ? t.alice! : t.bob!;
    await waitForEnvironment(server, winner, name, ['ready']);
    await api(server, winner, 'DELETE', `/api/environments/${name}`);
    await waitForEnvironment(server, winner, name, ['deleted']);
  });

  it("shows environments to their owner, the owner's team and admins only", async () => {
    const name = fx.envName('feature-payments');
    expect((await api(server, t.bob!, 'GET', `/api/environments/${name}`)).status).toBe(200); // bob: payments, like alice
    expect((await api(server, t.frank!, 'GET', `/api/environments/${name}`)).status).toBe(200); // frank: platform admin
    const dave = await api(server, t.dave!, 'GET', `/api/environments/${name}`);
    expect([dave.status, dave.json.error.code]).toEqual([403, 'POLICY_DENIED']);
    const daveAll = await api(server, t.dave!, 'GET', '/api/environments?scope=all');
    expect(daveAll.json.items.map((e: any) => e.name)).not.toContain(name);
    expect(daveAll.json.items.map((e: any) => e.name)).toContain('staging');
    const mine = await api(server, t.alice!, 'GET', '/api/environments');
    expect(mine.json.items.map((e: any) => e.name)).toContain(name);
    expect((await api(server, t.bob!, 'GET', '/api/environments')).json.items.map((e: any) => e.name)).not.toContain(
      name,
    );
    expect((await api(server, t.dave!, 'POST', `/api/environments/${name}/connect`)).status).toBe(403);
    expect((await api(server, t.dave!, 'DELETE', `/api/environments/${name}`)).status).toBe(403);
  });

  it('extends within the policy, and never extends or deletes a base environment', async () => {
    const name = fx.envName('feature-payments');
    const before = await api(server, t.alice!, 'GET', `/api/environments/${name}`);
    clock.advance(3600);
    const ext = await api(server, t.alice!, 'POST', `/api/environments/${name}/extend`, { ttl: '10d' });
    expect(ext.status).toBe(200);
    expect(Date.parse(ext.json.expiresAt) - clock.now().getTime()).toBe(10 * 86400 * 1000);
    expect(ext.json.expiresAt).not.toBe(before.json.expiresAt);
    const tooLong = await api(server, t.alice!, 'POST', `/api/environments/${name}/extend`, { ttl: '15d' });
    expect([tooLong.status, tooLong.json.error.code]).toEqual([400, 'ENV_TTL_TOO_LONG']);
    for (const [method, path] of [
      ['DELETE', '/api/environments/staging'],
      ['POST', '/api/environments/staging/extend'],
    ] as const) {
      const res = await api(server, t.frank!, method, path, method === 'POST' ? { ttl: '1d' } : undefined);
      expect([res.status, res.json.error.code]).toEqual([403, 'ENV_BASE_PROTECTED']);
    }
    const prodConnect = await api(server, t.frank!, 'POST', '/api/environments/production/connect');
    expect(prodConnect.status).toBe(403);
  });

  it('deletes every resource it made: database, role, Redis keys and user, secrets, namespace', async () => {
    const name = fx.envName('feature-payments');
    const nsDir = server.services.environments.namespaceDir(`${name}-alice`);
    expect(existsSync(nsDir)).toBe(true);
    const res = await api(server, t.alice!, 'DELETE', `/api/environments/${name}`);
    expect([res.status, res.json.status]).toEqual([202, 'deleting']);
    const gone = await waitForEnvironment(server, t.alice!, name, ['deleted']);
    expect(gone.steps.filter((s: any) => s.name.startsWith('delete:')).map((s: any) => s.status)).toEqual([
      'done',
      'done',
      'done',
      'done',
    ]);
    expect(await fx.leftovers()).toEqual({ databases: [], roles: [], keys: [], users: [] });
    expect(existsSync(nsDir)).toBe(false);
    expect((await api(server, t.frank!, 'GET', `/api/secrets?env=${name}`)).json.items).toEqual([]);
    // The name is free again; staging is untouched.
    expect(await redis.get(`${fx.staging.redisPrefix}feature-flags:new-checkout`)).toBe('on');
    const audit = await api(server, t.frank!, 'GET', '/api/audit?action=env:*&limit=1000');
    expect(audit.json.items.filter((e: any) => e.target === `environment:${name}`).map((e: any) => e.action)).toEqual(
      expect.arrayContaining(['env:create', 'env:ready', 'env:extend', 'env:delete', 'env:deleted']),
    );
  });

  it('a failed step leaves status failed with the step and error; env:delete still cleans up (and leaves what is not ours)', async () => {
    const name = fx.envName('clash');
    // Somebody else's database already has the derived name.
    await query(PG_ADMIN_URL, `CREATE DATABASE "pg-${name}"`);
    const res = await api(server, t.alice!, 'POST', '/api/environments', { name, from: 'staging' });
    expect(res.status).toBe(202);
    const failed = await waitForEnvironment(server, t.alice!, name, ['failed', 'ready']);
    expect(failed.status).toBe('failed');
    expect(failed.error.step).toBe('database');
    expect(failed.error.message).toMatch(/ENV_RESOURCE_CONFLICT/);
    const conn = await api(server, t.alice!, 'POST', `/api/environments/${name}/connect`);
    expect([conn.status, conn.json.error.code]).toEqual([409, 'ENV_NOT_READY']);
    await api(server, t.alice!, 'DELETE', `/api/environments/${name}`);
    const gone = await waitForEnvironment(server, t.alice!, name, ['deleted']);
    expect(gone.steps.find((s: any) => s.name === 'delete:database').detail).toMatch(/left alone/);
    const left = await fx.leftovers();
    expect(left.databases).toEqual([`pg-${name}`]); // the stranger's database survives
    expect(left.roles).toEqual([]);
    await query(PG_ADMIN_URL, `DROP DATABASE "pg-${name}"`);
  });

  it('enforces at most 5 live environments per person (policy), naming the limit', async () => {
    const names = [1, 2, 3, 4, 5].map((i) => fx.envName(`q${i}`));
    for (const name of names)
      expect((await api(server, t.bob!, 'POST', '/api/environments', { name, from: 'cache' })).status).toBe(202);
    const sixth = await api(server, t.bob!, 'POST', '/api/environments', { name: fx.envName('q6'), from: 'cache' });
    expect([sixth.status, sixth.json.error.code]).toEqual([403, 'ENV_QUOTA_EXCEEDED']);
    for (const name of names) await waitForEnvironment(server, t.bob!, name, ['ready']);
    for (const name of names) await api(server, t.bob!, 'DELETE', `/api/environments/${name}`);
    for (const name of names) await waitForEnvironment(server, t.bob!, name, ['deleted']);
  });
});

describe.skipIf(!ok)('environments: TTL reaper and expiry warnings', () => {
  it('warns the owner before expiry (once), then deletes the environment when its TTL runs out', async () => {
    const hook = await webhookReceiver();
    const fx = envFixture(`  webhookUrl: ${hook.url}\n`);
    const clock = fakeClock();
    const server = await startTestServer({ configPath: fx.configPath, clock, environmentTimers: false });
    try {
      const t = await userTokens(server, ['alice', 'frank']);
      const name = fx.envName('short');
      expect(
        (await api(server, t.alice!, 'POST', '/api/environments', { name, from: 'cache', ttl: '2d' })).status,
      ).toBe(202);
      await waitForEnvironment(server, t.alice!, name, ['ready']);
      // A day before expiry: one warning, however many sweeps run.
      clock.advance(86400 + 60);
      await server.services.reaper.sweep();
      await server.services.reaper.sweep();
      await hook.waitFor(1);
      expect(hook.all).toHaveLength(1);
      expect(JSON.stringify(hook.received[0]!.body)).toContain(`idp env:extend ${name}`);
      // Past expiry: deleted by the reaper, resources gone.
      clock.advance(86400);
      await server.services.reaper.sweep();
      const gone = await waitForEnvironment(server, t.alice!, name, ['deleted']);
      expect(gone.deletedAt).toBeTruthy();
      expect(await fx.leftovers()).toEqual({ databases: [], roles: [], keys: [], users: [] });
      const audit = await api(server, t.frank!, 'GET', '/api/audit?action=env:*&limit=1000');
      const actions = audit.json.items
        .filter((e: any) => e.target === `environment:${name}`)
        .map((e: any) => `${e.actor} ${e.action}`);
      expect(actions).toEqual(expect.arrayContaining(['system:reaper env:notify-expiry', 'system:reaper env:delete']));
      // Base environments have no expiry and are still there.
      expect((await api(server, t.alice!, 'GET', '/api/environments/cache')).json.status).toBe('ready');
    } finally {
      await server.services.environments.idle();
      await server.stop();
      await hook.close();
      await fx.cleanup();
    }
  });
});

describe.skipIf(!ok)("the demo organisation's own config (examples/acme/idp.config.yaml)", () => {
  it('starts with its base environments: staging seeded (rows, keys, secrets), production not clonable', async () => {
    const server = await startTestServer({ configPath: ACME_REAL_CONFIG, environmentTimers: false });
    let instanceUsers = '';
    try {
      const t = await userTokens(server, ['alice', 'frank']);
      const all = await api(server, t.alice!, 'GET', '/api/environments?scope=all');
      expect(
        all.json.items
          .filter((e: any) => e.kind === 'base')
          .map((e: any) => [e.name, e.tier])
          .sort(),
      ).toEqual([
        ['production', 'production'],
        ['staging', 'staging'],
      ]);
      const rows = await query<{ n: string }>(
        PG_ADMIN_URL.replace(/\/[^/]*$/, '/acme_staging'),
        'SELECT count(*) AS n FROM payments',
      );
      expect(Number(rows[0]!.n)).toBeGreaterThanOrEqual(1000);
      const secrets = await api(server, t.frank!, 'GET', '/api/secrets?env=staging');
      expect(secrets.json.items.map((s: any) => s.path)).toContain('staging/payments-api/STRIPE_KEY');
      const prod = await api(server, t.alice!, 'POST', '/api/environments', {
        name: 'copy-of-prod',
        from: 'production',
      });
      expect(prod.status).toBe(403);
      // Base environments' Redis users are this control plane's own (idp-<instance>-<prefix>);
      // its state store is thrown away below, so its users go too.
      const conn = await api(server, t.frank!, 'POST', '/api/environments/staging/connect');
      instanceUsers = decodeURIComponent(new URL(conn.json.variables.REDIS_URL).username).replace(/staging$/, '');
      expect(instanceUsers).toMatch(/^idp-[0-9a-f]{8}-$/);
    } finally {
      await server.stop();
      if (instanceUsers) {
        const r = new Redis(REDIS_URL);
        for (const u of ((await r.call('ACL', 'USERS')) as string[]).filter((x) => x.startsWith(instanceUsers)))
          await r.call('ACL', 'DELUSER', u);
        r.disconnect();
      }
    }
  });
});

describe('environments on a machine without PostgreSQL or Redis', () => {
  it('starts anyway, and env:create names each missing store and the setting that fixes it; nothing is recorded', async () => {
    const fx = envFixture();
    // Nothing listens on port 1: both stores are "down".
    const server = await startTestServer({
      configPath: fx.configPath,
      environmentTimers: false,
      postgresAdminUrl: 'postgres://postgres@127.0.0.1:1/postgres',
      redisUrl: 'redis://127.0.0.1:1',
    });
    try {
      const t = await userTokens(server, ['alice']);
      const res = await api(server, t.alice!, 'POST', '/api/environments', {
        name: fx.envName('offline'),
        from: 'staging',
      });
      expect([res.status, res.json.error.code]).toEqual([503, 'ENV_PROVIDER_UNAVAILABLE']);
      expect(Object.keys(res.json.error.details.resources).sort()).toEqual(['database', 'redis']);
      expect(res.json.error.details.resources.database).toMatch(/127\.0\.0\.1:1 \(option\) is unreachable/);
      expect(res.json.error.message).toMatch(/database: .*redis: /);
      expect((await api(server, t.alice!, 'GET', '/api/environments')).json.items).toEqual([]);
      // A Redis-only base needs only Redis.
      const cache = await api(server, t.alice!, 'POST', '/api/environments', {
        name: fx.envName('offline2'),
        from: 'cache',
      });
      expect(Object.keys(cache.json.error.details.resources)).toEqual(['redis']);
    } finally {
      await server.stop();
    }
  });
});
