import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_ADMIN_URL = process.env.IDP_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/**
 * Whether PostgreSQL tests run. Locally they skip when no server answers; in CI (CI=true) an
 * unreachable server is a failure, so a broken CI machine cannot pass by skipping.
 */
export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch (err) {
    if (process.env.CI === 'true') {
      throw new Error(`PostgreSQL is required in CI but ${PG_ADMIN_URL} is unreachable: ${(err as Error).message}`);
    }
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

/** The admin URL, naming `database` instead of its own and, with `user`, connecting as that role. */
export function pgUrl(to: { database?: string; user?: string; password?: string } = {}): string {
  const url = new URL(PG_ADMIN_URL);
  if (to.database) url.pathname = `/${to.database}`;
  if (to.user) {
    url.username = to.user;
    url.password = to.password ?? '';
  }
  return url.toString();
}

/**
 * Runs `fn` with a client of its own (as the admin to its database unless `to` says otherwise),
 * ended after. A connection the server drops while idle is ignored; a query's error still throws.
 */
export async function withPgClient<T>(
  fn: (client: pg.Client) => Promise<T>,
  to: { database?: string; user?: string; password?: string } = {},
): Promise<T> {
  const client = new pg.Client({ connectionString: pgUrl(to) });
  client.on('error', () => {});
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh, uniquely named database; drop() removes it and every connection to it. */
export async function createTempDatabase(
  prefix = 'idp_test',
): Promise<{ url: string; name: string; drop(): Promise<void> }> {
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  return {
    url: pgUrl({ database: name }),
    name,
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await c.end();
    },
  };
}
