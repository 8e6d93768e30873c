// Catalog query pages on PostgreSQL as statements prepared by name: parsing and planning a page's
// statement costs the database more than running it (the walk finds a page in a fraction of a
// millisecond). Each statement text gets a name (from its hash), prepared once per pooled
// connection; values stay parameters, so a text is a query's shape, not its values. Shapes are
// few in practice, but filters are the caller's: past PREPARED_SHAPES per pool, new shapes run
// unprepared, so the connections' prepared statements stay bounded.
import { createHash } from 'node:crypto';
import type { Kysely, RawBuilder } from 'kysely';
import type pg from 'pg';
import type { Database } from '../../store/index.ts';

export const PREPARED_SHAPES = 64;
const named = new WeakMap<pg.Pool, Set<string>>();

export async function runPage<R>(db: Kysely<Database>, pool: pg.Pool | undefined, query: RawBuilder<R>): Promise<R[]> {
  if (!pool) return (await query.execute(db)).rows;
  const compiled = query.compile(db);
  const name = `idp_catalog_${createHash('sha256').update(compiled.sql).digest('hex').slice(0, 32)}`;
  let names = named.get(pool);
  if (!names) named.set(pool, (names = new Set()));
  if (!names.has(name)) {
    if (names.size >= PREPARED_SHAPES) return (await query.execute(db)).rows;
    names.add(name);
  }
  return (await pool.query({ name, text: compiled.sql, values: [...compiled.parameters] })).rows as R[];
}
