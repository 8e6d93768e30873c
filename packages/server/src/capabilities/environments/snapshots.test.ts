import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresProvider } from '@idp/provider-postgres';
import { insertEnv, provisioningEnv } from '../../../../../test/support/env-rows.ts';
import { PG_ADMIN_URL, postgresAvailable } from '../../../../../test/support/postgres.ts';
import { tempSqliteStore } from '../../../../../test/support/sqlite.ts';
import type { Clock } from '../../clock.ts';
import type { Store } from '../../store/index.ts';
import { Snapshots } from './snapshots.ts';

// Snapshot databases on the machine's real PostgreSQL, the state in a SQLite store: what exists
// is read from pg_database before and after each step, never from idp.

const up = await postgresAvailable();
const clock: Clock = { now: () => new Date() };

describe.skipIf(!up)('snapshots of a base database (real PostgreSQL)', { timeout: 60_000 }, () => {
  const run = randomBytes(3).toString('hex');
  const base = `idp_t_snaps_${run}`;
  const pgp = new PostgresProvider(PG_ADMIN_URL);
  const tmp = tempSqliteStore('snapshots');
  let store: Store;
  let snaps: Snapshots;
  let prefix: string;

  const admin = async <T>(fn: (c: pg.Client) => Promise<T>, database?: string): Promise<T> =>
    pgp.withClient(fn, database);
  /** This install's snapshot databases on the server, by name. */
  const listed = async () => (await pgp.listDatabases(prefix)).sort();
  const changeBase = (n: number) =>
    admin((c) => c.query(`INSERT INTO orders (amount) SELECT g FROM generate_series(1, ${n}) g`), base);
  const take = async () => (await snaps.withBase('staging', () => snaps.current('staging', base))).database;
  const provisioning = (name: string, snapshot: string | null) =>
    insertEnv(store.db, provisioningEnv(name, clock.now(), { redis_prefix: null, snapshot }));

  beforeAll(async () => {
    store = tmp.store;
    snaps = new Snapshots(store.db, pgp, clock, () => {});
    prefix = await snaps.prefixFor(base);
    await pgp.ensureDatabase(base, 'idp:test');
    await pgp.exec(base, 'CREATE TABLE orders (id serial PRIMARY KEY, amount int NOT NULL)');
    await changeBase(10);
  });

  afterAll(async () => {
    for (const name of [...(await pgp.listDatabases(prefix)), base]) await pgp.dropDatabase(name);
  });

  it('a new snapshot replaces the old one, which is dropped', async () => {
    expect(await listed()).toEqual([]);
    const first = await take();
    expect(await listed()).toEqual([first]);
    expect(await take()).toBe(first); // unchanged base: the same snapshot, nothing new
    await changeBase(1);
    const second = await take();
    expect(second).not.toBe(first);
    expect(await listed()).toEqual([second]);
  });

  it('keeps a replaced snapshot while a clone in progress names it, and drops it at the next look once none does', async () => {
    const [inUse] = await listed();
    const env = await provisioning(`snap-${run}`, JSON.stringify({ database: inUse, takenAt: 'x', creating: true }));
    await changeBase(1);
    const third = await take();
    expect(await listed()).toEqual([inUse, third].sort());

    await store.db.updateTable('environments').set({ status: 'ready' }).where('id', '=', env.id).execute();
    expect(await take()).toBe(third);
    expect(await listed()).toEqual([third]);
  });

  it('the start-up sweep drops what a crash left (replaced, half-written) and keeps the current one', async () => {
    const current = (await listed())[0]!;
    // As a crash between writing a new snapshot and dropping the old would leave them: one recorded, one not.
    const leftover = `${prefix}zz${run}`;
    await admin((c) => c.query(`CREATE DATABASE ${pg.escapeIdentifier(leftover)}`));
    expect(await listed()).toEqual([current, leftover].sort());

    const afterRestart = new Snapshots(store.db, pgp, clock, () => {});
    expect(await afterRestart.sweep({ staging: { database: base } })).toEqual([leftover]);
    expect(await listed()).toEqual([current]);
  });

  it('the start-up sweep drops the snapshots of a base no longer in the config, and forgets them', async () => {
    expect(await listed()).toHaveLength(1);
    const dropped = await new Snapshots(store.db, pgp, clock, () => {}).sweep({ cache: {} });
    expect(dropped).toHaveLength(1);
    expect(await listed()).toEqual([]);
    expect(await store.db.selectFrom('environment_snapshots').selectAll().execute()).toEqual([]);
    // The base database itself is never touched.
    expect((await pgp.databaseInfo(base)).exists).toBe(true);
  });
});
