import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PG_ADMIN_URL } from '../support/postgres.ts';
import { REDIS_URL, isEnvUser, storesAvailable, waitForEnvironment } from '../support/environments.ts';
import { ACME_CONFIG, runCli, startServerProcess, stopProcess, type CliResult } from '../support/server.ts';

// The env:* commands through the real `idp` executable against `idp server` as its own process,
// cloning a real base environment: a PostgreSQL database, a Redis keyspace and secrets, all
// seeded from files. The PostgreSQL and Redis servers are shared with other test files, so every
// name made here carries this run's random suffix, and afterAll removes whatever is left.

const available = await storesAvailable();

describe.runIf(available)('idp env:* against a real control plane, PostgreSQL and Redis', { timeout: 90_000 }, () => {
  const run = randomBytes(3).toString('hex');
  const envA = `e2e-env-${run}`;
  const envB = `e2e-env-${run}-b`;
  const baseDb = `idp_e2e_staging_${run}`;
  const basePrefix = `idp-e2e-${run}:`;
  const stripeKey = `sk_test_${randomBytes(8).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-env-cli-'));
  const scratch = mkdtempSync(join(tmpdir(), 'idp-env-scratch-'));
  const adminToken = `env-cli-admin-${run}`;
  const as: Record<string, Record<string, string>> = {};
  let server: Awaited<ReturnType<typeof startServerProcess>>;
  let connection: Record<string, string> = {};

  const idp = (user: string, args: string[]): Promise<CliResult> => runCli(args, as[user]!);
  const ok = (res: CliResult) => {
    expect(
      res.code,
      `${res.stderr}\n${res.stdout}\n--- server output (tail) ---\n${server?.output().slice(-4000)}`,
    ).toBe(0);
    return res;
  };
  const adminQuery = async <R extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> => {
    const c = new pg.Client({ connectionString: PG_ADMIN_URL });
    await c.connect();
    try {
      return (await c.query<R>(sql, params)).rows;
    } finally {
      await c.end();
    }
  };
  const databaseExists = async (name: string) =>
    (await adminQuery('SELECT 1 FROM pg_database WHERE datname = $1', [name])).length === 1;
  const roleExists = async (name: string) =>
    (await adminQuery('SELECT 1 FROM pg_roles WHERE rolname = $1', [name])).length === 1;
  const withRedis = async <T>(fn: (r: Redis) => Promise<T>): Promise<T> => {
    const r = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
    try {
      return await fn(r);
    } finally {
      r.disconnect();
    }
  };
  const keysUnder = (prefix: string) => withRedis((r) => r.keys(`${prefix}*`));

  beforeAll(async () => {
    writeFileSync(
      join(scratch, 'seed.sql'),
      [
        'CREATE TABLE customers (id serial PRIMARY KEY, name text NOT NULL, plan text NOT NULL);',
        "INSERT INTO customers (name, plan) VALUES ('Ada', 'pro'), ('Grace', 'free'), ('Linus', 'pro');",
      ].join('\n'),
    );
    writeFileSync(
      join(scratch, 'redis.json'),
      JSON.stringify({ greeting: 'hello from staging', 'session:42': { value: 'alice', ttl: 3600 } }),
    );
    writeFileSync(join(scratch, 'secrets.yaml'), `"payments-api/STRIPE_KEY": "${stripeKey}"\n`);

    // The demo organisation's catalog (who is who, who owns what) with absolute paths, and a
    // base environment of this run's own.
    const acme = parse(readFileSync(ACME_CONFIG, 'utf8'));
    const acmeDir = resolve(ACME_CONFIG, '..');
    const config = {
      organization: acme.organization,
      auth: acme.auth,
      catalog: { ...acme.catalog, locations: acme.catalog.locations.map((l: string) => resolve(acmeDir, l)) },
      postgres: { adminUrl: PG_ADMIN_URL },
      redis: { url: REDIS_URL },
      environments: {
        defaultTtl: '7d',
        base: {
          staging: {
            tier: 'staging',
            database: baseDb,
            redisPrefix: basePrefix,
            seed: {
              sql: join(scratch, 'seed.sql'),
              redis: join(scratch, 'redis.json'),
              secrets: join(scratch, 'secrets.yaml'),
            },
          },
        },
      },
    };
    // JSON is YAML: no quoting questions for paths and URLs.
    writeFileSync(join(scratch, 'idp.config.yaml'), JSON.stringify(config, null, 2));

    server = await startServerProcess(['--data-dir', dataDir, '--config', join(scratch, 'idp.config.yaml')], {
      IDP_ADMIN_TOKEN: adminToken,
    });
    as.admin = { IDP_URL: server.url, IDP_TOKEN: adminToken };
    await Promise.all(
      ['alice', 'bob', 'dave'].map(async (u) => {
        const res = ok(await runCli(['token:create', '--user', `${u}@company.com`, '-o', 'json'], as.admin!));
        as[u] = { IDP_URL: server.url, IDP_TOKEN: JSON.parse(res.stdout).token };
      }),
    );

    // The base environment may still be seeding just after start.
    await waitForEnvironment(server, adminToken, 'staging', ['ready'], { interval: 200 }).catch((err: Error) => {
      throw new Error(`${err.message}\n${server.output()}`);
    });
  });

  afterAll(async () => {
    // A server stuck in a step must not keep the shared PostgreSQL and Redis from being cleaned.
    if (server) await stopProcess(server.child, 15_000);
    // Whatever a failed test left behind, and the base environment itself.
    if (available) {
      for (const name of [envA, envB]) {
        await adminQuery(`DROP DATABASE IF EXISTS "pg-${name}" WITH (FORCE)`).catch(() => {});
        await adminQuery(`DROP ROLE IF EXISTS "pg-${name}"`).catch(() => {});
      }
      await adminQuery(`DROP DATABASE IF EXISTS "${baseDb}" WITH (FORCE)`).catch(() => {});
      await adminQuery(`DROP ROLE IF EXISTS "${baseDb}_app"`).catch(() => {}); // the base's workload role
      // The server's snapshots of the base (template databases named after it).
      const snapshots = await adminQuery<{ datname: string }>(
        'SELECT datname FROM pg_database WHERE starts_with(datname, $1)',
        [`idp_snap_${baseDb}_`],
      ).catch(() => []);
      for (const { datname } of snapshots) {
        await adminQuery(`ALTER DATABASE "${datname}" IS_TEMPLATE false`).catch(() => {});
        await adminQuery(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`).catch(() => {});
      }
      await withRedis(async (r) => {
        for (const prefix of [basePrefix, `redis-${envA}:`, `redis-${envB}:`]) {
          const keys = await r.keys(`${prefix}*`);
          if (keys.length > 0) await r.del(...keys);
        }
        const names = [`redis-${envA}`, `redis-${envB}`, basePrefix.replace(/:$/, '')];
        for (const user of ((await r.call('ACL', 'USERS')) as string[]).filter((u) =>
          names.some((n) => isEnvUser(u, n)),
        ))
          await r.call('ACL', 'DELUSER', user).catch(() => {});
      }).catch(() => {});
    }
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(scratch, { recursive: true, force: true });
  });

  it("env:create waits, prints each step with its time, then the issue's fields", async () => {
    const res = ok(await idp('alice', ['env:create', `--name=${envA}`, '--from=staging']));
    expect(res.stderr).toContain(`Creating ${envA} from staging`);
    for (const step of ['namespace', 'database', 'redis', 'secrets']) {
      expect(res.stderr).toMatch(new RegExp(`^✓ ${step}\\s+\\d+(\\.\\d)?s\\b`, 'm'));
    }
    expect(res.stderr).not.toMatch(/^✗/m);
    expect(res.stderr).toMatch(new RegExp(`${envA} is ready \\(\\d+(\\.\\d)?s\\)\\.`));
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 9)).toEqual([
      `name: ${envA}`,
      'source_env: staging',
      'owner: alice@company.com',
      'ttl: 7d',
      'resources:',
      `  namespace: ${envA}-alice`,
      `  database: pg-${envA}`,
      `  redis: redis-${envA}`,
      expect.stringMatching(/^ {2}secrets: \S.*staging/),
    ]);
    expect(lines.slice(9)).toEqual([
      'status: ready',
      expect.stringMatching(/^created_at: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      expect.stringMatching(/^expires_at: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      expect.stringMatching(/^provisioning_time: \d+(\.\d)?s$/),
    ]);
    const created = Date.parse(lines[10]!.slice('created_at: '.length));
    const expires = Date.parse(lines[11]!.slice('expires_at: '.length));
    expect(Math.abs(expires - created - 7 * 86_400_000)).toBeLessThan(5_000);
    expect(await databaseExists(`pg-${envA}`)).toBe(true);
  });

  it('--no-wait -o json returns at once; env:get --watch -o json follows it to ready', async () => {
    const started = JSON.parse(
      ok(
        await idp('alice', [
          'env:create',
          '--name',
          envB,
          '--from',
          'staging',
          '--ttl',
          '1d',
          '--no-wait',
          '-o',
          'json',
        ]),
      ).stdout,
    );
    expect(Object.keys(started)).toEqual(
      expect.arrayContaining([
        'name',
        'source_env',
        'owner',
        'ttl',
        'resources',
        'status',
        'created_at',
        'expires_at',
        'provisioning_time',
        'steps',
      ]),
    );
    expect(started).toMatchObject({
      name: envB,
      source_env: 'staging',
      owner: 'alice@company.com',
      ttl: '1d',
      status: 'provisioning',
      resources: { namespace: `${envB}-alice`, database: `pg-${envB}`, redis: `redis-${envB}` },
    });
    expect(started).not.toHaveProperty('sourceEnv');

    const watched = ok(await idp('alice', ['env:get', envB, '--watch', '-o', 'json']));
    const env = JSON.parse(watched.stdout);
    expect(env).toMatchObject({
      name: envB,
      status: 'ready',
      provisioning_time: expect.stringMatching(/^\d+(\.\d)?s$/),
    });
    expect(env.steps.map((s: { name: string }) => s.name)).toEqual(['namespace', 'database', 'redis', 'secrets']);
    for (const s of env.steps)
      expect(s).toMatchObject({
        status: 'done',
        duration: expect.stringMatching(/s$/),
        duration_ms: expect.any(Number),
      });
    // Cloning is quick: the watch may start after the last step, and then has nothing to follow.
    if (watched.stderr !== '') expect(watched.stderr).toMatch(/^✓ secrets\s+\d/m);

    const yaml = parse(ok(await idp('alice', ['env:get', envB, '-o', 'yaml'])).stdout);
    expect(yaml).toMatchObject({
      name: envB,
      source_env: 'staging',
      status: 'ready',
      resources: { database: `pg-${envB}` },
    });
  });

  it("env:list: --mine shows the caller's own, --all adds the base environments and the team's", async () => {
    const [mine, mineJson, daveMine, bobAll] = await Promise.all([
      idp('alice', ['env:list', '--mine']),
      idp('alice', ['env:list', '-o', 'json']),
      idp('dave', ['env:list', '--mine']),
      idp('bob', ['env:list', '--all']),
    ]);
    expect(ok(mine).stdout.split('\n')[0]).toMatch(
      /^NAME\s+KIND\s+OWNER\s+SOURCE\s+STATUS\s+AGE\s+EXPIRES\s+PULL REQUEST$/,
    );
    expect(mine.stdout).toMatch(
      new RegExp(
        `^${envA}\\s+ephemeral\\s+alice@company\\.com\\s+staging\\s+ready\\s+(\\d+[smhd]){1,2}\\s+in (6d(\\d+h)?|7d)\\s+-$`,
        'm',
      ),
    );
    expect(mine.stdout).toMatch(
      new RegExp(
        `^${envB}\\s+ephemeral\\s+alice@company\\.com\\s+staging\\s+ready\\s+\\S+\\s+in (23h(\\d+m)?|1d)\\s+-$`,
        'm',
      ),
    );
    expect(mine.stdout).not.toMatch(/^staging\s/m);
    const names = JSON.parse(ok(mineJson).stdout).items.map((e: { name: string; source_env: string }) => e.name);
    expect(names).toEqual(expect.arrayContaining([envA, envB]));
    expect(ok(daveMine).stdout).not.toContain(envA);
    expect(ok(bobAll).stdout).toMatch(/^staging\s+base\s/m);
    expect(bobAll.stdout).toContain(envA);
  });

  it('env:connect prints export lines that really connect, and a teammate may connect; others may not', async () => {
    const [res, asJson, dave] = await Promise.all([
      idp('alice', ['env:connect', envA]),
      idp('bob', ['env:connect', envA, '-o', 'json']),
      idp('dave', ['env:connect', envA]),
    ]);
    expect(ok(res).stdout).toMatch(/^export DATABASE_URL='postgres(ql)?:\/\/[^']+'$/m);
    expect(res.stdout).toMatch(/^export REDIS_URL='rediss?:\/\/[^']+'$/m);
    expect(res.stdout).toMatch(new RegExp(`^export REDIS_KEY_PREFIX='redis-${envA}:'$`, 'm'));
    expect(
      res.stdout
        .split('\n')
        .filter(Boolean)
        .every((l) => /^export [A-Z_]+='/.test(l)),
    ).toBe(true);
    const json = JSON.parse(ok(asJson).stdout);
    expect(json.env).toBe(envA);
    expect([3, 4]).toContain(dave.code);
    expect(dave.stdout).not.toContain('DATABASE_URL');

    // What a shell gets from `eval "$(idp env:connect NAME)"`.
    const shell = await new Promise<string>((resolveShell, reject) => {
      const child = execFile(
        'sh',
        ['-c', 'eval "$(cat)"; printf "%s\\n%s\\n%s" "$DATABASE_URL" "$REDIS_URL" "$REDIS_KEY_PREFIX"'],
        (err, stdout) => (err ? reject(err) : resolveShell(stdout)),
      );
      child.stdin!.end(res.stdout);
    });
    const [databaseUrl, redisUrl, keyPrefix] = shell.split('\n') as [string, string, string];
    expect({ DATABASE_URL: databaseUrl, REDIS_URL: redisUrl, REDIS_KEY_PREFIX: keyPrefix }).toEqual(json.variables);
    connection = json.variables;
    expect(new URL(databaseUrl).password).not.toBe('');

    const db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
    try {
      expect((await db.query('SELECT current_database() AS db, current_user AS who')).rows[0]).toEqual({
        db: `pg-${envA}`,
        who: `pg-${envA}`,
      });
      expect((await db.query('SELECT name, plan FROM customers ORDER BY id')).rows).toEqual([
        { name: 'Ada', plan: 'pro' },
        { name: 'Grace', plan: 'free' },
        { name: 'Linus', plan: 'pro' },
      ]);
      // Its own copy: writes stay out of the base environment.
      await db.query("INSERT INTO customers (name, plan) VALUES ('Only in the clone', 'free')");
    } finally {
      await db.end();
    }
    expect((await adminQuery('SELECT count(*)::int AS n FROM pg_database WHERE datname = $1', [baseDb]))[0]).toEqual({
      n: 1,
    });
    const baseUrl = new URL(PG_ADMIN_URL);
    baseUrl.pathname = `/${baseDb}`;
    const base = new pg.Client({ connectionString: baseUrl.toString() });
    await base.connect();
    try {
      expect((await base.query('SELECT count(*)::int AS n FROM customers')).rows[0]).toEqual({ n: 3 });
    } finally {
      await base.end();
    }

    const r = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    try {
      expect(await r.get(`${keyPrefix}greeting`)).toBe('hello from staging');
      expect(await r.get(`${keyPrefix}session:42`)).toBe('alice');
      const ttl = await r.ttl(`${keyPrefix}session:42`);
      expect(ttl).toBeGreaterThan(3000);
      expect(ttl).toBeLessThanOrEqual(3600);
      // Confined to its own keyspace.
      await expect(r.get(`${basePrefix}greeting`)).rejects.toThrow(/NOPERM/);
    } finally {
      r.disconnect();
    }
  });

  it('env:get shows resources, endpoints, age and steps, and never a password', async () => {
    const [res, asJson, secret] = await Promise.all([
      idp('alice', ['env:get', envA]),
      idp('alice', ['env:get', envA, '-o', 'json']),
      idp('alice', ['secret:get', `${envA}/payments-api/STRIPE_KEY`]),
    ]);
    expect(ok(res).stdout).toMatch(new RegExp(`^name: ${envA}$`, 'm'));
    expect(res.stdout).toMatch(new RegExp(`^ {2}database: pg-${envA}$`, 'm'));
    expect(res.stdout).toMatch(/^age: (\d+[smhd]){1,2}$/m);
    expect(res.stdout).toMatch(/^expires_at: \d{4}-/m);
    expect(res.stdout).toMatch(
      new RegExp(`^endpoints:\\n {2}database: postgres://pg-${envA}@[^:/]+:\\d+/pg-${envA}\\n {2}redis: redis://`, 'm'),
    );
    expect(res.stdout).toMatch(/^steps:\n {2}✓ namespace\s+\d+(\.\d)?s/m);
    expect(JSON.parse(ok(asJson).stdout)).toMatchObject({
      name: envA,
      endpoints: { database: { database: `pg-${envA}`, user: `pg-${envA}` }, redis: { keyPrefix: `redis-${envA}:` } },
    });
    // The passwords env:connect handed out appear nowhere else.
    const passwords = [new URL(connection.DATABASE_URL!).password, new URL(connection.REDIS_URL!).password]
      .filter(Boolean)
      .map(decodeURIComponent);
    expect(passwords.length).toBeGreaterThan(0);
    for (const p of passwords) {
      expect(res.stdout + res.stderr).not.toContain(p);
      expect(asJson.stdout).not.toContain(p);
    }
    // The source's secrets were copied under the new environment's paths.
    expect(ok(secret).stdout).toBe(`${stripeKey}\n`);
  });

  it('env:extend sets a new lifetime from now', async () => {
    const res = ok(await idp('alice', ['env:extend', envA, '--ttl=3d']));
    expect(res.stderr).toMatch(new RegExp(`${envA} now expires at \\d{4}-`));
    expect(res.stdout).toMatch(/^ttl: 3d$/m);
    const expires = Date.parse(/^expires_at: (\S+)$/m.exec(res.stdout)![1]!);
    expect(Math.abs(expires - Date.now() - 3 * 86_400_000)).toBeLessThan(60_000);
    const [tooLong, base] = await Promise.all([
      idp('alice', ['env:extend', envA, '--ttl=30d']),
      idp('alice', ['env:extend', 'staging', '--ttl=3d']),
    ]);
    expect(tooLong.code).not.toBe(0);
    expect(tooLong.stderr).toMatch(/^Error \[(ENV_TTL_TOO_LONG|POLICY_DENIED)\]/m);
    expect(base.code).toBe(3);
    expect(base.stderr).toMatch(/^Error \[(ENV_BASE_PROTECTED|POLICY_DENIED)\]/m);
  });

  it('rejects a name that is not a DNS label before anything runs, and a missing flag is a usage error', async () => {
    const [hostile, missing] = await Promise.all([
      idp('alice', ['env:create', '--name=x; DROP DATABASE staging', '--from=staging']),
      idp('alice', ['env:create', '--name=x']),
    ]);
    expect(hostile.code).toBe(2);
    expect(hostile.stderr).toMatch(/^Error \[INVALID_NAME\]/m);
    expect(hostile.stderr).not.toMatch(/^✓/m);
    expect(hostile.stdout).toBe('');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^Error \[USAGE\]: Missing required flag from$/m);
    expect(await databaseExists(baseDb)).toBe(true);
    expect(await adminQuery("SELECT datname FROM pg_database WHERE datname LIKE 'pg-x%'")).toEqual([]);
    const list = JSON.parse(ok(await idp('alice', ['env:list', '--all', '-o', 'json'])).stdout);
    expect(list.items.map((e: { name: string }) => e.name)).not.toContain('x; DROP DATABASE staging');
  });

  it('env:delete waits, prints the delete steps and removes every resource', async () => {
    const res = ok(await idp('alice', ['env:delete', envA]));
    expect(res.stderr).toContain(`Deleting ${envA}`);
    expect(res.stderr).toMatch(/^✓ delete:database\s+\d+(\.\d)?s/m);
    expect(res.stderr).toMatch(/^✓ delete:redis\s+\d/m);
    expect(res.stderr).not.toMatch(/^✓ database\s/m);
    expect(res.stdout).toMatch(/^status: deleted$/m);
    expect(await databaseExists(`pg-${envA}`)).toBe(false);
    expect(await roleExists(`pg-${envA}`)).toBe(false);
    expect(await keysUnder(`redis-${envA}:`)).toEqual([]);
    expect(
      (await withRedis(async (r) => (await r.call('ACL', 'USERS')) as string[])).filter((u) =>
        isEnvUser(u, `redis-${envA}`),
      ),
    ).toEqual([]);

    const [after, secret, list, base] = await Promise.all([
      idp('alice', ['env:get', envA, '-o', 'json']),
      idp('alice', ['secret:get', `${envA}/payments-api/STRIPE_KEY`]),
      idp('alice', ['env:list', '-o', 'json']),
      idp('alice', ['env:delete', 'staging']),
    ]);
    if (after.code === 0) expect(JSON.parse(after.stdout)).toMatchObject({ name: envA, status: 'deleted' });
    else expect(after.code).toBe(4);
    expect(secret.code).toBe(4);
    expect(JSON.parse(ok(list).stdout).items.map((e: { name: string }) => e.name)).not.toContain(envA);
    expect(base.code).toBe(3);
    expect(await databaseExists(baseDb)).toBe(true);

    const json = JSON.parse(ok(await idp('alice', ['env:delete', envB, '-o', 'json'])).stdout);
    expect(json).toMatchObject({ name: envB, status: 'deleted' });
    expect(await databaseExists(`pg-${envB}`)).toBe(false);
    expect(await keysUnder(`redis-${envB}:`)).toEqual([]);
    // The base environment is untouched by all of it.
    expect((await keysUnder(basePrefix)).sort()).toEqual([`${basePrefix}greeting`, `${basePrefix}session:42`]);
  });
});
