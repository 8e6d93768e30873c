// One entity's JSON by ref: the catalog's hottest read (Backstage's by-name, idp's /entity, the
// graph views' lookups). It skips the query builder and is prepared once: on PostgreSQL by name on
// each pooled connection (bound and executed per request, not parsed and planned), on SQLite as a
// statement of the read connection.
import type SqliteDatabase from 'better-sqlite3';
import type { Kysely } from 'kysely';
import type pg from 'pg';
import type { Database } from '../../store/index.ts';

/** The drivers behind the catalog's read connection, when it has them. */
export interface DirectReads {
  pool?: pg.Pool;
  sqlite?: SqliteDatabase.Database;
}

const BY_REF = 'select entity from catalog_entities where ref = ';

export function entityByRef(
  db: Kysely<Database>,
  direct: DirectReads = {},
): (ref: string) => Promise<string | undefined> {
  const { pool, sqlite } = direct;
  if (pool)
    return async (ref) =>
      (await pool.query<{ entity: string }>({ name: 'idp_catalog_entity_by_ref', text: `${BY_REF}$1`, values: [ref] }))
        .rows[0]?.entity;
  if (sqlite) {
    let statement: SqliteDatabase.Statement<[string], string> | undefined;
    return async (ref) => (statement ??= sqlite.prepare<[string], string>(`${BY_REF}?`).pluck()).get(ref);
  }
  return async (ref) =>
    (await db.selectFrom('catalog_entities').select('entity').where('ref', '=', ref).executeTakeFirst())?.entity;
}
