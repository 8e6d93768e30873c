import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createTempDatabase, postgresAvailable } from '../../../../../test/support/postgres.ts';
import type { Database } from '../../store/index.ts';
import { PREPARED_SHAPES, runPage } from './prepared-pages.ts';

const pgUp = await postgresAvailable();

describe.runIf(pgUp)('catalog pages prepared on PostgreSQL', () => {
  it('answers as unprepared, and prepares at most PREPARED_SHAPES statement texts per pool', async () => {
    const tmp = await createTempDatabase();
    // One connection: pg_prepared_statements then shows every statement the pool prepared.
    const pool = new pg.Pool({ connectionString: tmp.url, max: 1 });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
    try {
      for (let shape = 0; shape < PREPARED_SHAPES + 6; shape++) {
        for (const value of ['a', 'b']) {
          const query = sql<{
            shape: number;
            value: string;
          }>`select ${sql.raw(String(shape))} as shape, ${value} as value`;
          expect(await runPage(db, pool, query)).toEqual([{ shape, value }]);
          expect(await runPage(db, undefined, query)).toEqual([{ shape, value }]);
        }
      }
      const prepared = await pool.query<{ n: string }>(
        `select count(*) as n from pg_prepared_statements where name like 'idp_catalog_%'`,
      );
      expect(Number(prepared.rows[0]!.n)).toBe(PREPARED_SHAPES);
    } finally {
      await db.destroy();
      await tmp.drop();
    }
  });
});
