import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';

import { IdpError } from '@idp/contracts';
import { migrationProvider } from './migrations.ts';
import type { Database } from './schema.ts';

export type Dialect = 'sqlite' | 'postgres';

export interface Store {
  db: Kysely<Database>;
  dialect: Dialect;
  /** Where the state lives, without credentials: for logs and /readyz. */
  location: string;
  /** PostgreSQL only: the pool behind db, for hot reads prepared once per connection by name. */
  pool?: pg.Pool;
  close(): Promise<void>;
}

export interface OpenStoreOptions {
  /** postgres://… selects PostgreSQL; otherwise SQLite at <dataDir>/idp.sqlite. */
  databaseUrl?: string;
  dataDir: string;
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparseable database url)';
  }
}

// PostgreSQL returns bigint columns as strings by default; our bigints (audit seq) fit in a double.
pg.types.setTypeParser(20, (v) => Number(v));

export async function openStore(opts: OpenStoreOptions): Promise<Store> {
  let store: Store;
  if (opts.databaseUrl && /^postgres(ql)?:\/\//.test(opts.databaseUrl)) {
    const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 10 });
    // An idle connection that PostgreSQL closes (restart, failover, admin termination) is emitted
    // on the pool; unhandled, that event would crash the control plane. The pool replaces it.
    pool.on('error', (err) => process.stderr.write(`warning: state store connection lost: ${err.message}\n`));
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    store = { db, dialect: 'postgres', location: redactUrl(opts.databaseUrl), pool, close: () => db.destroy() };
  } else if (opts.databaseUrl) {
    throw new IdpError(
      'STORE_UNAVAILABLE',
      `IDP_DATABASE_URL must start with postgres:// (got ${redactUrl(opts.databaseUrl)})`,
      {
        field: 'IDP_DATABASE_URL',
        hint: 'Unset IDP_DATABASE_URL to use SQLite in the data dir, or give a postgres:// URL.',
      },
    );
  } else {
    const file = join(opts.dataDir, 'idp.sqlite');
    let sqlite: SqliteDatabase.Database;
    try {
      mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
      sqlite = new SqliteDatabase(file);
      sqlite.pragma('journal_mode = WAL');
      sqlite.pragma('busy_timeout = 5000');
      sqlite.pragma('foreign_keys = ON');
    } catch (err) {
      throw new IdpError(
        'STORE_UNAVAILABLE',
        `cannot open the SQLite state store at ${file}: ${(err as Error).message}`,
        {
          field: 'data-dir',
          hint: 'Point --data-dir (or IDP_DATA_DIR) at a writable folder.',
        },
      );
    }
    const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
    store = { db, dialect: 'sqlite', location: file, close: () => db.destroy() };
  }
  try {
    await migrate(store);
  } catch (err) {
    await store.close().catch(() => {});
    if (err instanceof IdpError) throw err;
    throw new IdpError(
      'STORE_UNAVAILABLE',
      `cannot open the ${store.dialect} state store at ${store.location}: ${(err as Error).message}`,
      {
        hint:
          store.dialect === 'postgres'
            ? 'Check that PostgreSQL is running and IDP_DATABASE_URL is right.'
            : 'Check that the data dir is writable.',
      },
    );
  }
  return store;
}

export async function migrate(store: Store): Promise<string[]> {
  const migrator = new Migrator({ db: store.db, provider: migrationProvider });
  const { error, results } = await migrator.migrateToLatest();
  if (error) throw error;
  return (results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
