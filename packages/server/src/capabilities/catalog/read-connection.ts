// The catalog's reads on SQLite go through a connection of their own. The store has one connection,
// and a write transaction holds it: a 10,000-entity ingest would keep every query waiting until it
// commits. With WAL, a second connection reads the last committed catalog meanwhile. PostgreSQL
// reads already come from a pool.
import SqliteDatabase from 'better-sqlite3';
import { Kysely, SqliteDialect } from 'kysely';
import type { Database, Store } from '../../store/index.ts';
import type { DirectReads } from './entity-by-ref.ts';

export interface ReadConnection {
  db: Kysely<Database>;
  /** The driver behind db (the pool, or the SQLite connection), for reads prepared once (entity-by-ref.ts). */
  direct: DirectReads;
  close(): Promise<void>;
}

export function openReadConnection(store: Pick<Store, 'db' | 'dialect' | 'location' | 'pool'>): ReadConnection {
  if (store.dialect !== 'sqlite' || store.location === ':memory:')
    return { db: store.db, direct: { pool: store.pool }, close: async () => {} };
  const sqlite = new SqliteDatabase(store.location, { fileMustExist: true });
  sqlite.pragma('busy_timeout = 5000');
  // Reads only: a write through this connection would bypass the catalog's write lock.
  sqlite.pragma('query_only = ON');
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  return { db, direct: { sqlite }, close: () => db.destroy() };
}

/** Lets other work (HTTP requests) run between the steps of a long ingest. */
export function yieldToLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
