import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { PG_ADMIN_URL, postgresAvailable, withPgClient } from '../../../test/support/postgres.ts';
import { PostgresProvider, SNAPSHOT_OWNER, assertPgName } from './provider.ts';

// PostgresProvider against the real server: every name carries this run's id, and afterAll
// drops whatever a failed test left. Locally the file skips when PostgreSQL is down; with CI=true
// postgresAvailable() throws, so the file fails instead.

const up = await postgresAvailable();
const id = randomBytes(4).toString('hex');
const name = (label: string) => `idp_pt_${id}_${label}`;
const MARKER = `idp:env:test-${id}`;

/** A query as the admin (to `database`, or the admin URL's own), on a connection of its own. */
const admin = <T>(fn: (c: pg.Client) => Promise<T>, database?: string): Promise<T> => withPgClient(fn, { database });

/** Everything this run made that still exists: the leak check of every test. */
async function leftovers(): Promise<{ databases: string[]; roles: string[] }> {
  return admin(async (c) => ({
    databases: (
      await c.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE starts_with(datname, $1) ORDER BY 1`, [
        `idp_pt_${id}_`,
      ])
    ).rows.map((r) => r.datname),
    roles: (
      await c.query<{ rolname: string }>(`SELECT rolname FROM pg_roles WHERE starts_with(rolname, $1) ORDER BY 1`, [
        `idp_pt_${id}_`,
      ])
    ).rows.map((r) => r.rolname),
  }));
}

/** Connects as `role` to `database` and runs one query. */
async function asRole(role: string, password: string, database: string, sql: string): Promise<unknown[]> {
  return withPgClient(async (c) => (await c.query(sql)).rows, { database, user: role, password });
}

describe.skipIf(!up)('PostgresProvider on a real PostgreSQL', () => {
  const provider = new PostgresProvider(PG_ADMIN_URL);
  const template = name('tpl');

  const base = name('base');

  beforeAll(async () => {
    // The template is what the environments' database step clones: a snapshot of a base database.
    await admin((c) => c.query(`CREATE DATABASE "${base}"`));
    await admin(async (c) => {
      await c.query('CREATE TABLE orders (id serial PRIMARY KEY, total integer NOT NULL)');
      await c.query('INSERT INTO orders (total) VALUES (10), (20), (30)');
    }, base);
    await provider.snapshot(base, template, `${MARKER}-snapshot`);
  });

  /** Which of `names` still exist as a database or a role. */
  const remaining = async (...names: string[]) => {
    const left = await leftovers();
    return {
      databases: left.databases.filter((d) => names.includes(d)),
      roles: left.roles.filter((r) => names.includes(r)),
    };
  };
  const NONE = { databases: [], roles: [] };

  afterAll(async () => {
    if (!up) return;
    const left = await leftovers();
    await admin(async (c) => {
      for (const d of left.databases) {
        await c.query(`ALTER DATABASE "${d}" IS_TEMPLATE false`);
        await c.query(`DROP DATABASE IF EXISTS "${d}" WITH (FORCE)`);
      }
      for (const r of left.roles) await c.query(`DROP ROLE IF EXISTS "${r}"`);
    });
  });

  it('clones a database from a template: the data is there, owned by its role, and nobody else may connect', async () => {
    const db = name('clone');
    const other = name('other');
    await provider.ensureRole(db, 'pw-one', MARKER);
    await provider.ensureRole(other, 'pw-other', `${MARKER}-other`);
    expect(
      await provider.cloneDatabase({ template, name: db, owner: db, marker: MARKER, adoptUnmarked: false }),
    ).toEqual({ created: true });

    expect(await provider.databaseInfo(db)).toEqual({ exists: true, marker: MARKER, isTemplate: false });
    // The role reads and writes its copy: the template's rows, its own table now.
    expect(await asRole(db, 'pw-one', db, 'SELECT sum(total)::int AS s FROM orders')).toEqual([{ s: 60 }]);
    await asRole(db, 'pw-one', db, 'INSERT INTO orders (total) VALUES (5)');
    expect(await admin((c) => c.query(`SELECT count(*)::int AS n FROM orders`), db)).toMatchObject({
      rows: [{ n: 4 }],
    });
    // The tables passed from the snapshot owner to the environment's role.
    const owners = await admin(
      async (c) => (await c.query(`SELECT tableowner FROM pg_tables WHERE schemaname = 'public'`)).rows,
      db,
    );
    expect(owners).toEqual([{ tableowner: db }]);
    expect(owners).not.toContainEqual({ tableowner: SNAPSHOT_OWNER });
    // Another environment's role cannot even connect (CONNECT revoked from PUBLIC).
    await expect(asRole(other, 'pw-other', db, 'SELECT 1')).rejects.toThrow(/permission denied/);
    // Not a superuser, cannot make databases or roles.
    const [flags] = await admin(
      async (c) =>
        (
          await c.query(`SELECT rolsuper, rolcreatedb, rolcreaterole, rolcanlogin FROM pg_roles WHERE rolname = $1`, [
            db,
          ])
        ).rows,
    );
    expect(flags).toEqual({ rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolcanlogin: true });

    expect(await provider.dropDatabase(db, MARKER)).toBe('dropped');
    expect(await provider.dropRole(db, MARKER)).toBe('dropped');
    expect(await provider.dropRole(other, `${MARKER}-other`)).toBe('dropped');
    expect(await remaining(db, other)).toEqual(NONE);
  });

  it('is idempotent: a re-run converges (same database kept, new password takes effect), a second drop finds it gone', async () => {
    const db = name('rerun');
    await provider.ensureRole(db, 'first', MARKER);
    await provider.cloneDatabase({ template, name: db, owner: db, marker: MARKER, adoptUnmarked: false });
    // Three rows: the previous test wrote to its copy, never to the template.
    expect(await asRole(db, 'first', db, 'SELECT count(*)::int AS n FROM orders')).toEqual([{ n: 3 }]);
    await asRole(db, 'first', db, 'INSERT INTO orders (total) VALUES (1)');

    // The step runs again after a crash: same role (password rotated), same database, data kept.
    // (The test server trusts local connections, so the password is checked in pg_authid.)
    const secret = async () =>
      (await admin((c) => c.query<{ p: string }>(`SELECT rolpassword AS p FROM pg_authid WHERE rolname = $1`, [db])))
        .rows[0]?.p;
    const before = await secret();
    await provider.ensureRole(db, 'second', MARKER);
    expect(await secret()).not.toBe(before);
    expect(
      await provider.cloneDatabase({ template, name: db, owner: db, marker: MARKER, adoptUnmarked: false }),
    ).toEqual({ created: false });
    expect(await asRole(db, 'second', db, 'SELECT count(*)::int AS n FROM orders')).toEqual([{ n: 4 }]);

    expect(await provider.dropDatabase(db, MARKER)).toBe('dropped');
    expect(await provider.dropDatabase(db, MARKER)).toBe('absent');
    expect(await provider.dropRole(db, MARKER)).toBe('dropped');
    expect(await provider.dropRole(db, MARKER)).toBe('absent');
    expect(await remaining(db)).toEqual(NONE);
  });

  it('never adopts, alters or drops a database or role someone else made', async () => {
    const db = name('foreign');
    await admin(async (c) => {
      await c.query(`CREATE ROLE "${db}" LOGIN PASSWORD 'theirs'`);
      await c.query(`CREATE DATABASE "${db}"`);
    });
    const role = await provider.ensureRole(db, 'mine', MARKER).catch((e: unknown) => e);
    expect(role).toBeInstanceOf(IdpError);
    expect(role).toMatchObject({ code: 'ENV_RESOURCE_CONFLICT', details: { resource: 'database', role: db } });
    const clone = await provider
      .cloneDatabase({ template, name: db, owner: db, marker: MARKER, adoptUnmarked: false })
      .catch((e: unknown) => e);
    expect(clone).toMatchObject({ code: 'ENV_RESOURCE_CONFLICT', details: { database: db } });
    expect(await provider.dropDatabase(db, MARKER)).toBe('foreign');
    expect(await provider.dropRole(db, MARKER)).toBe('foreign');
    expect(await remaining(db)).toEqual({ databases: [db], roles: [db] });

    // A crash between CREATE DATABASE and COMMENT leaves it unmarked: adopted only when the caller says it made it.
    await admin((c) => c.query(`ALTER DATABASE "${db}" OWNER TO postgres`));
    expect(await provider.dropDatabase(db, MARKER, true)).toBe('dropped');
    await admin((c) => c.query(`DROP ROLE "${db}"`));
    expect(await remaining(db)).toEqual(NONE);
  });

  it('a snapshot (pg_dump | pg_restore) is a frozen template nobody connects to; its source is untouched', async () => {
    expect(await provider.databaseInfo(template)).toEqual({
      exists: true,
      marker: `${MARKER}-snapshot`,
      isTemplate: true,
    });
    const [info] = await admin(
      async (c) => (await c.query(`SELECT datallowconn FROM pg_database WHERE datname = $1`, [template])).rows,
    );
    expect(info).toEqual({ datallowconn: false });
    expect(await provider.databaseInfo(base)).toMatchObject({ exists: true, isTemplate: false });
    expect((await admin((c) => c.query(`SELECT count(*)::int AS n FROM orders`), base)).rows).toEqual([{ n: 3 }]);
    // A snapshot of a database that is not there fails, naming pg_dump; its half-written target is
    // dropped by the next snapshot of that base (Snapshots.dropStale), here by hand.
    await expect(provider.snapshot(name('nosuch'), name('nosnap'), MARKER)).rejects.toThrow(/pg_dump/);
    expect(await provider.dropDatabase(name('nosnap'))).toMatch(/dropped|absent/);
    expect(await remaining(name('nosnap'))).toEqual(NONE);
  });

  it('refuses names that are not plain identifiers before any SQL runs', async () => {
    for (const bad of ['x"; DROP DATABASE postgres; --', 'Upper', '1starts-with-digit', 'a'.repeat(64), '']) {
      expect(() => assertPgName(bad, 'database')).toThrow(IdpError);
    }
    await expect(
      provider.cloneDatabase({ template, name: 'bad name', owner: 'x', marker: MARKER, adoptUnmarked: false }),
    ).rejects.toMatchObject({ code: 'INVALID_NAME', details: { field: 'database' } });
    await expect(provider.ensureRole("r'; --", 'pw', MARKER)).rejects.toMatchObject({ code: 'INVALID_NAME' });
    expect(assertPgName('pg-feature_1', 'database')).toBe('pg-feature_1');
  });

  it('reports an unreachable server instead of throwing', async () => {
    expect(await provider.check()).toBeNull();
    expect(await new PostgresProvider('postgres://postgres@127.0.0.1:1/postgres').check()).toMatch(
      /ECONNREFUSED|connect/,
    );
  });
});
