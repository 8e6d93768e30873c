// Bulk inserts: multi-row INSERT statements written directly, small enough that a query waits at most
// one of them during a large ingest (SQLite runs each on the event loop).
import { CompiledQuery, type Transaction } from 'kysely';
import type { Database, Dialect } from '../../store/index.ts';
import { yieldToLoop } from './read-connection.ts';

// SQLite allows 32,766 bound parameters per statement and PostgreSQL 65,535; at 2,000 a statement
// of 500 search rows takes a few milliseconds, and a query is answered between two of them.
const MAX_PARAMS = 2_000;

/** The statement text for `rows` rows of `columns`, kept: full batches all use the same one. */
const statements = new Map<string, string>();

function statementFor(dialect: Dialect, table: string, columns: readonly string[], rows: number): string {
  const key = `${dialect}\u0000${table}\u0000${columns.join(',')}\u0000${rows}`;
  let text = statements.get(key);
  if (text === undefined) {
    const tuples: string[] = [];
    let n = 0;
    for (let r = 0; r < rows; r++) {
      const marks: string[] = [];
      for (let c = 0; c < columns.length; c++) marks.push(dialect === 'postgres' ? `$${++n}` : '?');
      tuples.push(`(${marks.join(',')})`);
    }
    text = `insert into ${table} (${columns.join(', ')}) values ${tuples.join(',')}`;
    if (statements.size > 64) statements.clear();
    statements.set(key, text);
  }
  return text;
}

/**
 * Rows given as one flat list of values, `columns.length` per row, inserted in statements of at
 * most MAX_PARAMS values. Table and column names are our own constants; every value is bound.
 */
export async function insertFlat<T extends keyof Database>(
  trx: Transaction<Database>,
  dialect: Dialect,
  table: T,
  columns: readonly (keyof Database[T] & string)[],
  values: readonly unknown[],
): Promise<void> {
  const width = columns.length;
  const perStatement = Math.max(1, Math.floor(MAX_PARAMS / width)) * width;
  for (let start = 0; start < values.length; start += perStatement) {
    const params = values.slice(start, Math.min(values.length, start + perStatement));
    await trx.executeQuery(CompiledQuery.raw(statementFor(dialect, table, columns, params.length / width), params));
    await yieldToLoop();
  }
}

/**
 * Multi-row INSERTs written directly: at 10,000 entities (300,000+ search rows) building each
 * statement through the query builder costs more than SQLite takes to run it.
 */
export async function insertBatches<T extends keyof Database>(
  trx: Transaction<Database>,
  dialect: Dialect,
  table: T,
  rows: Database[T][],
): Promise<void> {
  if (rows.length === 0) return;
  const columns = Object.keys(rows[0] as object) as (keyof Database[T] & string)[];
  const values: unknown[] = [];
  for (const row of rows) for (const c of columns) values.push((row as unknown as Record<string, unknown>)[c] ?? null);
  await insertFlat(trx, dialect, table, columns, values);
}
