import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { Redis } from 'ioredis';
import { ROOT, api } from './server.ts';
import { PG_ADMIN_URL, postgresAvailable } from './postgres.ts';
import { REDIS_URL, redisAvailable } from './redis.ts';
import { GiveUp, waitUntil, type WaitOptions } from './wait.ts';

export { PG_ADMIN_URL, REDIS_URL, redisAvailable };

/** Whether the tests that need PostgreSQL and Redis run: false locally when either is down, an error in CI (CI=true). */
export async function storesAvailable(): Promise<boolean> {
  return (await postgresAvailable()) && (await redisAvailable());
}

export interface EnvFixture {
  /** Unique per test file run: base databases, key prefixes and env names carry it. */
  id: string;
  configPath: string;
  dir: string;
  staging: { database: string; redisPrefix: string };
  cache: { redisPrefix: string };
  production: { database: string; redisPrefix: string };
  /** An environment name unique to this run. */
  envName(label: string): string;
  /** Every database, role, Redis key and ACL user this run's environments could have made. */
  leftovers(): Promise<{ databases: string[]; roles: string[]; keys: string[]; users: string[] }>;
  cleanup(): Promise<void>;
}

/**
 * A config like the Acme one, with base environments whose databases and key prefixes are unique
 * to this run, so test files sharing the machine's PostgreSQL and Redis never meet:
 *  - staging: database (seeded from examples/acme/seed) + Redis keys + secrets
 *  - cache: Redis keys only (cheap clones for quota and reaper tests)
 *  - production: tier production (policies forbid cloning it)
 */
export function envFixture(extra = ''): EnvFixture {
  const id = randomBytes(3).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'idp-envfix-'));
  const seed = join(ROOT, 'examples/acme/seed');
  const staging = { database: `idp_t_${id}_staging`, redisPrefix: `t${id}-staging:` };
  const cache = { redisPrefix: `t${id}-cache:` };
  const production = { database: `idp_t_${id}_prod`, redisPrefix: `t${id}-prod:` };
  const cachePath = join(dir, 'cache-seed.json');
  writeFileSync(cachePath, JSON.stringify({ 'flag:a': 'on', counter: '7', temp: { value: 'x', ttl: 3600 } }));
  const configPath = join(dir, 'idp.config.yaml');
  writeFileSync(
    configPath,
    `organization:
  name: acme
auth:
  adminGroup: platform
catalog:
  locations:
    - ${join(ROOT, 'examples/acme/catalog')}
    - ${join(ROOT, 'examples/acme/services')}
postgres:
  adminUrl: ${PG_ADMIN_URL}
redis:
  url: ${REDIS_URL}
${/^observability:/m.test(extra) ? '' : 'observability:\n  prometheus:\n    enabled: false\n'}environments:
  defaultTtl: 7d
  notifyBefore: 24h
  base:
    staging:
      tier: staging
      owner: platform
      database: ${staging.database}
      redisPrefix: "${staging.redisPrefix}"
      seed:
        sql: ${join(seed, 'staging.sql')}
        redis: ${join(seed, 'staging-redis.json')}
        secrets: ${join(seed, 'staging-secrets.yaml')}
    cache:
      tier: development
      redisPrefix: "${cache.redisPrefix}"
      seed:
        redis: ${cachePath}
    production:
      tier: production
      database: ${production.database}
      redisPrefix: "${production.redisPrefix}"
${extra}`,
  );
  const names = new Set<string>();
  return {
    id,
    dir,
    configPath,
    staging,
    cache,
    production,
    envName(label) {
      const name = `${label}-${id}`;
      names.add(name);
      return name;
    },
    async leftovers() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      const r = new Redis(REDIS_URL);
      try {
        const list = [...names];
        const dbs = (
          await c.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname = ANY($1)', [
            list.map((n) => `pg-${n}`),
          ])
        ).rows.map((x) => x.datname);
        const roles = (
          await c.query<{ rolname: string }>('SELECT rolname FROM pg_roles WHERE rolname = ANY($1)', [
            list.map((n) => `pg-${n}`),
          ])
        ).rows.map((x) => x.rolname);
        const keys: string[] = [];
        for (const n of list) keys.push(...(await r.keys(`redis-${n}:*`)));
        const users = ((await r.call('ACL', 'USERS')) as string[]).filter((u) =>
          list.some((n) => isEnvUser(u, `redis-${n}`)),
        );
        return { databases: dbs, roles, keys, users };
      } finally {
        await c.end();
        r.disconnect();
      }
    },
    async cleanup() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      const r = new Redis(REDIS_URL);
      try {
        const dbs = (
          await c.query<{ datname: string }>(
            `SELECT datname FROM pg_database WHERE datname = ANY($1) OR starts_with(datname, $2) OR starts_with(datname, $3) OR starts_with(datname, $4)`,
            [[...names].map((n) => `pg-${n}`), `idp_t_${id}_`, `idp_snap_idp_t_${id}_`, 'idp_snap_idp_t_' + id],
          )
        ).rows.map((x) => x.datname);
        for (const d of dbs) {
          await c.query(`ALTER DATABASE ${pg.escapeIdentifier(d)} IS_TEMPLATE false`).catch(() => {});
          await c.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(d)} WITH (FORCE)`);
        }
        for (const n of names) await c.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(`pg-${n}`)}`).catch(() => {});
        // The base environments' workload roles (<database>_app) and ACL users (idp-<instance>-<prefix>).
        for (const db of [staging.database, production.database])
          await c.query(`DROP ROLE IF EXISTS ${pg.escapeIdentifier(`${db}_app`)}`).catch(() => {});
        const aclUsers = (await r.call('ACL', 'USERS')) as string[];
        const ours = [staging.redisPrefix, cache.redisPrefix, production.redisPrefix]
          .map((p) => p.replace(/:$/, ''))
          .concat([...names].map((n) => `redis-${n}`));
        for (const u of aclUsers.filter((x) => ours.some((name) => isEnvUser(x, name))))
          await r.call('ACL', 'DELUSER', u);
        for (const pattern of [`t${id}-*`, ...[...names].map((n) => `redis-${n}:*`)]) {
          const keys = await r.keys(pattern);
          if (keys.length) await r.del(...keys);
        }
      } finally {
        await c.end();
        r.disconnect();
      }
    },
  };
}

/** An environment's Redis ACL user: `idp-<instance>-<name>` (or `<name>`, as versions before the instance id named it). */
export function isEnvUser(user: string, name: string): boolean {
  return user === name || new RegExp(`^idp-[0-9a-f]{8}-${name.replace(/[.]/g, '\\.')}$`).test(user);
}

/**
 * GET /api/environments/:name until its status is one of `statuses`; returns the environment.
 * A status in `failOn` fails at once instead of waiting for the timeout.
 */
export function waitForEnvironment(
  server: { url: string },
  token: string,
  name: string,
  statuses: readonly string[] = ['ready'],
  opts: WaitOptions & { failOn?: readonly string[] } = {},
): Promise<any> {
  return waitUntil(
    `environment ${name} to be ${statuses.join('|')}`,
    async () => {
      const res = await api(server, token, 'GET', `/api/environments/${name}`);
      if (res.status === 200 && statuses.includes(res.json.status)) return res.json;
      if (res.status === 200 && opts.failOn?.includes(res.json.status))
        throw new GiveUp(`environment ${name} is ${res.json.status}: ${res.text}`);
      throw new Error(`${res.status} ${res.text}`);
    },
    opts,
  );
}
