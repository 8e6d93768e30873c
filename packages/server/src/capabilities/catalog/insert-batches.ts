// Bulk inserts: multi-row INSERT statements written directly, split to stay under the bound-parameter limit.
import { CompiledQuery, type Transaction } from 'kysely';
import type { Database, Dialect } from '../../store/index.ts';
import { yieldToLoop } from './read-connection.ts';
import { chunk } from './util.ts';

// SQLite allows 32,766 bound parameters per statement and PostgreSQL 65,535; smaller statements
// let queries be answered between them during a large ingest.
const MAX_PARAMS = 12_000;

/**
 * Multi-row INSERTs written directly: at 10,000 entities (300,000+ search rows) building each
 * statement through the query builder costs more than SQLite takes to run it. Table and column
 * names are our own constants; every value is a bound parameter.
 */
export async function insertBatches<T extends keyof Database>(
  trx: Transaction<Database>,
  dialect: Dialect,
  table: T,
  rows: Database[T][],
): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0] as object);
  const per = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
  for (const part of chunk(rows, per)) {
    const params: unknown[] = [];
    const tuples: string[] = [];
    for (const row of part) {
      const marks: string[] = [];
      for (const c of columns) {
        params.push((row as unknown as Record<string, unknown>)[c] ?? null);
        marks.push(dialect === 'postgres' ? `$${params.length}` : '?');
      }
      tuples.push(`(${marks.join(',')})`);
    }
    await trx.executeQuery(
      CompiledQuery.raw(`insert into ${table} (${columns.join(', ')}) values ${tuples.join(',')}`, params),
    );
    await yieldToLoop();
  }
}
