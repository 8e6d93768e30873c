import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import pg from 'pg';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ACME_BUILD_COMMAND,
  ACME_SERVICES,
  ACME_SERVICES_DIR,
  callService,
  installAcmeService,
  serviceEnv,
  startAcmeService,
  stopAcmeServices,
  type AcmeService,
  type RunningService,
} from '../support/acme-services.ts';
import { ROOT, exited, freePort } from '../support/server.ts';
import { createTempDatabase, postgresAvailable } from '../support/postgres.ts';
import { REDIS_URL, redisAvailable } from '../support/redis.ts';

// The Acme sample services (issue 6, point 7) the way the platform runs them: each folder is
// copied out of the repo, installed with its deploy.yaml build command, and started with PORT,
// one environment database shared by the three, and a Redis user that an ACL limits to the
// environment's key prefix, so a key written without REDIS_KEY_PREFIX fails the test.

const execFileAsync = promisify(execFile);

/** The 1-based positions of the 5xx answers among `count` sequential requests. */
async function failingPositions(
  count: number,
  send: (i: number) => Promise<{ status: number; json: any }>,
): Promise<number[]> {
  const failed: number[] = [];
  for (let i = 1; i <= count; i++) {
    const res = await send(i);
    if (res.status >= 500) {
      expect(res.json.error.code).toBe('FAULT_INJECTED');
      failed.push(i);
    }
  }
  return failed;
}

describe('Acme sample services: source folders', () => {
  const kit = readFileSync(join(ACME_SERVICES_DIR, 'payments-api/service-kit.js'), 'utf8');

  it.each(ACME_SERVICES)(
    '%s has its deploy.yaml, catalog entry, pinned deps and a default-off fault switch',
    (name) => {
      const dir = join(ACME_SERVICES_DIR, name);
      const catalog = parseYaml(readFileSync(join(dir, 'catalog-info.yaml'), 'utf8'));
      expect(catalog.metadata.name).toBe(name);
      const team = String(catalog.spec.owner).replace(/^group:/, '');

      expect(parseYaml(readFileSync(join(dir, '.idp/deploy.yaml'), 'utf8'))).toEqual({
        service: { name, team },
        build: { command: ACME_BUILD_COMMAND },
        run: { command: 'node server.js', replicas: 2 },
        deploy: {
          strategy: 'canary',
          canary: [{ weight: 10, pause: '5m' }, { weight: 50, pause: '10m' }, { weight: 100 }],
          healthcheck: { path: '/health', interval: '10s', threshold: 3 },
          rollback: { auto: true, on_error_rate: '>1%' },
        },
      });

      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      expect(pkg).toMatchObject({
        name,
        version: '1.0.0',
        private: true,
        type: 'module',
        dependencies: { pg: '8.23.1', ioredis: '5.11.1' },
      });
      const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
      expect(lock.packages[''].dependencies).toEqual(pkg.dependencies);
      expect(lock.packages['node_modules/pg'].version).toBe('8.23.1');
      expect(lock.packages['node_modules/ioredis'].version).toBe('5.11.1');

      expect(JSON.parse(readFileSync(join(dir, 'fault.json'), 'utf8'))).toEqual({ errorRate: 0 });
      expect(readFileSync(join(dir, 'service-kit.js'), 'utf8')).toBe(kit);
      expect(readFileSync(join(dir, '.gitignore'), 'utf8')).toMatch(/^node_modules\/$/m);
      expect(existsSync(join(dir, 'node_modules'))).toBe(false);
      expect(readFileSync(join(dir, 'README.md'), 'utf8')).toContain('FAULT_ERROR_RATE');
    },
  );

  it.runIf(existsSync(join(ROOT, '.git')))(
    'keeps .idp/deploy.yaml in git although the root ignores .idp/',
    async () => {
      for (const name of ACME_SERVICES) {
        const path = `examples/acme/services/${name}/.idp/deploy.yaml`;
        const res = await execFileAsync('git', ['check-ignore', '-q', path], { cwd: ROOT }).then(
          () => 0,
          (err: { code?: number }) => err.code,
        );
        expect(res, `${path} must not be git-ignored`).toBe(1);
      }
    },
  );
});

const pgUp = await postgresAvailable();
const redisUp = await redisAvailable();

describe.runIf(pgUp && redisUp)('Acme sample services running on PostgreSQL and Redis', () => {
  const workDir = mkdtempSync(join(tmpdir(), 'idp-acme-services-'));
  const dirs = {} as Record<AcmeService, string>;
  const installMs = {} as Record<AcmeService, number>;
  const prefix = `acme-test-${randomBytes(4).toString('hex')}:`;
  const aclUser = `idp-test-${randomBytes(4).toString('hex')}`;
  const aclPassword = randomBytes(16).toString('hex');
  let restrictedRedisUrl: string;
  let db: Awaited<ReturnType<typeof createTempDatabase>>;
  let admin: Redis;
  let sql: pg.Client;
  const svc = {} as Record<AcmeService, RunningService>;

  const envFor = (name: AcmeService): Record<string, string> => ({
    DATABASE_URL: db.url,
    REDIS_URL: restrictedRedisUrl,
    REDIS_KEY_PREFIX: prefix,
    IDP_RELEASE_VERSION: `${name}-test-release`,
  });

  beforeAll(async () => {
    const install = async (name: AcmeService) => {
      ({ dir: dirs[name], ms: installMs[name] } = await installAcmeService(workDir, name));
    };
    const [database] = await Promise.all([createTempDatabase('idp_acme'), ...ACME_SERVICES.map(install)]);
    db = database;
    sql = new pg.Client({ connectionString: db.url });
    await sql.connect();

    admin = new Redis(REDIS_URL);
    // What the platform gives an environment: a user that can only touch keys under its prefix.
    await admin.call(
      'ACL',
      'SETUSER',
      aclUser,
      'reset',
      'on',
      `>${aclPassword}`,
      `~${prefix}*`,
      'resetchannels',
      '+@connection',
      '+@read',
      '+@write',
      '+@keyspace',
      '-@dangerous',
    );
    const url = new URL(REDIS_URL);
    url.username = aclUser;
    url.password = aclPassword;
    restrictedRedisUrl = url.toString();

    await Promise.all(
      ACME_SERVICES.map(async (name) => (svc[name] = await startAcmeService(dirs[name], envFor(name)))),
    );
  });

  afterAll(async () => {
    await stopAcmeServices();
    await sql?.end().catch(() => {});
    await db?.drop();
    if (admin) {
      const keys = await admin.keys(`${prefix}*`);
      if (keys.length) await admin.del(...keys);
      await admin.call('ACL', 'DELUSER', aclUser);
      admin.disconnect();
    }
    rmSync(workDir, { recursive: true, force: true });
  });

  it('installs each service with the deploy.yaml build command from a warm npm cache', () => {
    for (const name of ACME_SERVICES) {
      expect(JSON.parse(readFileSync(join(dirs[name], 'node_modules/pg/package.json'), 'utf8')).version).toBe('8.23.1');
      expect(JSON.parse(readFileSync(join(dirs[name], 'node_modules/ioredis/package.json'), 'utf8')).version).toBe(
        '5.11.1',
      );
      expect(installMs[name]).toBeLessThan(20_000);
    }
    console.log(
      `acme services: ${ACME_BUILD_COMMAND} took ${ACME_SERVICES.map((n) => `${n} ${installMs[n]} ms`).join(', ')} (in parallel)`,
    );
  });

  it.each(ACME_SERVICES)('%s answers /health (both stores ok) and / with the release version', async (name) => {
    const health = await callService(svc[name].url, 'GET', '/health');
    expect(health.status).toBe(200);
    expect(health.json).toMatchObject({
      status: 'ok',
      service: name,
      version: `${name}-test-release`,
      checks: { postgres: { status: 'ok' }, redis: { status: 'ok' } },
    });
    const root = await callService(svc[name].url, 'GET', '/');
    expect(root).toMatchObject({ status: 200, json: { service: name, version: `${name}-test-release` } });
    expect(root.headers.get('x-service-version')).toBe(`${name}-test-release`);
    expect((await callService(svc[name].url, 'GET', '/nope')).status).toBe(404);
  });

  it('payments-api stores payments in PostgreSQL and caches their count in Redis under the prefix', async () => {
    const base = svc['payments-api'].url;
    const countKey = `${prefix}payments-api:payments:count`;
    const a = await callService(base, 'POST', '/payments', {
      amount_cents: 1250,
      currency: 'EUR',
      user_id: '1',
      description: 'order 1',
    });
    expect(a).toMatchObject({
      status: 201,
      json: { amount_cents: 1250, currency: 'EUR', user_id: '1', status: 'captured' },
    });
    expect((await callService(base, 'POST', '/payments', { amount_cents: 990, currency: 'USD' })).status).toBe(201);
    const bad = await callService(base, 'POST', '/payments', { amount_cents: -5, currency: 'euro' });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe('INVALID_PAYMENT');

    const first = await callService(base, 'GET', '/payments');
    expect(first.status).toBe(200);
    expect(first.headers.get('x-cache')).toBe('miss');
    expect(first.json.count).toBe(2);
    expect(first.json.payments.map((p: { amount_cents: number }) => p.amount_cents)).toEqual([990, 1250]);
    expect(await admin.get(countKey)).toBe('2');
    expect(await admin.ttl(countKey)).toBeGreaterThan(0);
    expect((await callService(base, 'GET', '/payments')).headers.get('x-cache')).toBe('hit');

    const { rows } = await sql.query('SELECT amount_cents, currency FROM payments ORDER BY id');
    expect(rows).toEqual([
      { amount_cents: 1250, currency: 'EUR' },
      { amount_cents: 990, currency: 'USD' },
    ]);
    expect((await callService(base, 'GET', `/payments/${a.json.id}`)).json).toEqual(a.json);
    expect((await callService(base, 'GET', '/payments/999999')).status).toBe(404);

    // A new payment drops the cached count.
    await callService(base, 'POST', '/payments', { amount_cents: 100, currency: 'EUR' });
    expect(await admin.exists(countKey)).toBe(0);
    expect((await callService(base, 'GET', '/payments')).json.count).toBe(3);
  });

  it('users-api creates users in PostgreSQL and reads them through a Redis cache under the prefix', async () => {
    const base = svc['users-api'].url;
    const created = await callService(base, 'POST', '/users', { email: 'Ada@Acme.example', name: 'Ada Lovelace' });
    expect(created).toMatchObject({ status: 201, json: { email: 'ada@acme.example', name: 'Ada Lovelace' } });
    expect(
      (await callService(base, 'POST', '/users', { email: 'ada@acme.example', name: 'Ada again' })).json.error.code,
    ).toBe('USER_EXISTS');
    expect((await callService(base, 'POST', '/users', { email: 'nope' })).status).toBe(400);

    const miss = await callService(base, 'GET', `/users/${created.json.id}`);
    expect(miss.status).toBe(200);
    expect(miss.headers.get('x-cache')).toBe('miss');
    expect(miss.json).toEqual(created.json);
    const key = `${prefix}users-api:user:${created.json.id}`;
    expect(JSON.parse((await admin.get(key))!)).toEqual(created.json);
    const hit = await callService(base, 'GET', `/users/${created.json.id}`);
    expect(hit.headers.get('x-cache')).toBe('hit');
    expect(hit.json).toEqual(created.json);

    const { rows } = await sql.query('SELECT email, name FROM users');
    expect(rows).toEqual([{ email: 'ada@acme.example', name: 'Ada Lovelace' }]);
    expect((await callService(base, 'GET', '/users/424242')).json.error.code).toBe('USER_NOT_FOUND');
    expect((await callService(base, 'GET', '/users/abc')).status).toBe(400);
  });

  it('notifications-service records notifications in PostgreSQL and queues them on a Redis list under the prefix', async () => {
    const base = svc['notifications-service'].url;
    const one = await callService(base, 'POST', '/notify', {
      to: 'ada@acme.example',
      message: 'Your payment went through',
    });
    expect(one).toMatchObject({
      status: 202,
      json: { to: 'ada@acme.example', channel: 'email', status: 'queued', queueLength: 1 },
    });
    const two = await callService(base, 'POST', '/notify', {
      to: 'device-7',
      channel: 'push',
      message: 'Order shipped',
    });
    expect(two.json.queueLength).toBe(2);
    expect((await callService(base, 'POST', '/notify', { to: 'x', message: 'y', channel: 'pigeon' })).status).toBe(400);

    const queued = (await admin.lrange(`${prefix}notifications-service:queue`, 0, -1)).map((s) => JSON.parse(s));
    expect(queued.map((n) => n.id)).toEqual([two.json.id, one.json.id]);
    expect(queued[0]).toMatchObject({ to: 'device-7', channel: 'push', message: 'Order shipped' });
    const { rows } = await sql.query('SELECT recipient, channel, status FROM notifications ORDER BY id');
    expect(rows).toEqual([
      { recipient: 'ada@acme.example', channel: 'email', status: 'queued' },
      { recipient: 'device-7', channel: 'push', status: 'queued' },
    ]);
    const list = await callService(base, 'GET', '/notifications');
    expect(list.json.queued).toBe(2);
    expect(list.json.notifications).toHaveLength(2);
  });

  it("namespaces each service's keys under REDIS_KEY_PREFIX", async () => {
    // The ACL user cannot touch keys outside the prefix; within it, each service keeps to its own name.
    const keys = (await admin.keys(`${prefix}*`)).map((k) => k.slice(prefix.length)).sort();
    expect(keys).toHaveLength(3);
    expect(keys[0]).toBe('notifications-service:queue');
    expect(keys[1]).toBe('payments-api:payments:count');
    expect(keys[2]).toMatch(/^users-api:user:\d+$/);
  });

  it('every service starts and is healthy with neither DATABASE_URL nor REDIS_URL set', async () => {
    const needsStore = {
      'payments-api': ['GET', '/payments'],
      'users-api': ['GET', '/users/1'],
      'notifications-service': ['POST', '/notify'],
    } as const;
    await Promise.all(
      ACME_SERVICES.map(async (name) => {
        const p = await startAcmeService(dirs[name]);
        const health = await callService(p.url, 'GET', '/health');
        expect(health).toMatchObject({
          status: 200,
          json: {
            status: 'ok',
            version: '1.0.0',
            checks: { postgres: { status: 'not configured' }, redis: { status: 'not configured' } },
          },
        });
        expect((await callService(p.url, 'GET', '/')).json).toEqual({ service: name, version: '1.0.0' });
        const [method, path] = needsStore[name];
        const res = await callService(p.url, method, path, method === 'POST' ? { to: 'a', message: 'b' } : undefined);
        expect(res.status).toBe(503);
        expect(res.json.error.code).toBe('DEPENDENCY_NOT_CONFIGURED');
        expect(await p.stop()).toBe(0);
      }),
    );
  });

  it('answers /health 503 naming the dependency that is down', async () => {
    // Port 1 (tcpmux): nothing listens there, so a connection is refused at once. A port found free
    // a moment ago can be taken by another test file's server meanwhile (seen: PostgreSQL's
    // "Connection terminated unexpectedly" instead of ECONNREFUSED).
    const closedPort = 1;
    const [noPg, noRedis] = await Promise.all([
      startAcmeService(dirs['payments-api'], {
        ...envFor('payments-api'),
        DATABASE_URL: `postgres://postgres@127.0.0.1:${closedPort}/none`,
      }),
      startAcmeService(dirs['payments-api'], {
        ...envFor('payments-api'),
        REDIS_URL: `redis://127.0.0.1:${closedPort}`,
      }),
    ]);
    const [pgDown, redisDown] = await Promise.all([
      callService(noPg.url, 'GET', '/health'),
      callService(noRedis.url, 'GET', '/health'),
    ]);
    expect(pgDown).toMatchObject({
      status: 503,
      json: {
        status: 'error',
        failed: ['postgres'],
        checks: { postgres: { status: 'failed' }, redis: { status: 'ok' } },
      },
    });
    expect(pgDown.json.checks.postgres.error).toContain('ECONNREFUSED');
    expect(redisDown).toMatchObject({
      status: 503,
      json: { status: 'error', failed: ['redis'], checks: { postgres: { status: 'ok' }, redis: { status: 'failed' } } },
    });
    expect(redisDown.json.checks.redis.error).toContain('ECONNREFUSED');
    // The cache is an optimisation: payments are still listed from PostgreSQL while Redis is down.
    const list = await callService(noRedis.url, 'GET', '/payments');
    expect(list.status).toBe(200);
    expect(list.headers.get('x-cache')).toBe('error');
    expect(await Promise.all([noPg.stop(), noRedis.stop()])).toEqual([0, 0]);
  });

  it('with FAULT_ERROR_RATE=0.05 every service fails exactly requests 20, 40, …, 100 of 100 (before doing anything) while /health stays 200', async () => {
    // payments-api takes a payment per request, so the rows show that a faulted request did nothing.
    const before = (await sql.query('SELECT count(*)::int AS n FROM payments')).rows[0].n;
    const request = (name: AcmeService, url: string) =>
      name === 'payments-api'
        ? callService(url, 'POST', '/payments', { amount_cents: 1, currency: 'EUR' })
        : callService(url, 'GET', '/');
    await Promise.all(
      ACME_SERVICES.map(async (name) => {
        const p = await startAcmeService(dirs[name], { ...envFor(name), FAULT_ERROR_RATE: '0.05' });
        const failed = await failingPositions(100, async (i) => {
          if (i % 10 === 0) expect((await callService(p.url, 'GET', '/health')).status).toBe(200);
          return request(name, p.url);
        });
        expect(failed, name).toEqual([20, 40, 60, 80, 100]);
        expect(await p.stop()).toBe(0);
      }),
    );
    expect((await sql.query('SELECT count(*)::int AS n FROM payments')).rows[0].n - before).toBe(95);
  });

  it('reads the rate from a committed fault.json; FAULT_ERROR_RATE overrides it', async () => {
    // A release is a copy of the folder at a commit: this one committed errorRate 0.05.
    const release = join(workDir, 'users-api-faulty');
    cpSync(dirs['users-api'], release, { recursive: true });
    writeFileSync(join(release, 'fault.json'), '{"errorRate": 0.05}\n');
    const [faulty, overridden] = await Promise.all([
      startAcmeService(release, envFor('users-api')),
      startAcmeService(release, { ...envFor('users-api'), FAULT_ERROR_RATE: '0' }),
    ]);
    expect(await failingPositions(40, () => callService(faulty.url, 'GET', '/'))).toEqual([20, 40]);
    expect(await failingPositions(40, () => callService(overridden.url, 'GET', '/'))).toEqual([]);
    expect(await Promise.all([faulty.stop(), overridden.stop()])).toEqual([0, 0]);
  });

  it('refuses to start with an invalid error rate', async () => {
    const child = spawn(process.execPath, ['server.js'], {
      cwd: dirs['users-api'],
      env: { ...serviceEnv(), PORT: String(await freePort()), FAULT_ERROR_RATE: '5%' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stderr!.on('data', (d) => (output += d));
    expect(await exited(child)).toBe(1);
    expect(output).toContain('FAULT_ERROR_RATE must be a number from 0 to 1');
  });

  it('with FAULT_HEALTH=fail every service answers /health 500 and everything else normally', async () => {
    await Promise.all(
      ACME_SERVICES.map(async (name) => {
        const p = await startAcmeService(dirs[name], { ...envFor(name), FAULT_HEALTH: 'fail' });
        const health = await callService(p.url, 'GET', '/health');
        expect(health.status, name).toBe(500);
        expect(health.json.status).toBe('failing');
        expect((await callService(p.url, 'GET', '/')).status).toBe(200);
        expect(await p.stop()).toBe(0);
      }),
    );
  });

  it('with FAULT_CRASH=1 every service exits at once with code 1, before listening', async () => {
    await Promise.all(
      ACME_SERVICES.map(async (name) => {
        const started = performance.now();
        const child = spawn(process.execPath, ['server.js'], {
          cwd: dirs[name],
          env: { ...serviceEnv(), ...envFor(name), PORT: String(await freePort()), FAULT_CRASH: '1' },
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        let output = '';
        child.stdout!.on('data', (d) => (output += d));
        child.stderr!.on('data', (d) => (output += d));
        expect(await exited(child), name).toBe(1);
        expect(performance.now() - started).toBeLessThan(5000);
        expect(output).toContain('FAULT_CRASH');
        expect(output).not.toContain('listening');
      }),
    );
  });
});
