// The catalog generation: read by caches, locked by every write, and bumped when a write commits.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../../store/index.ts';
import type { StoreContext } from './store-types.ts';

export const GENERATION_KEY = 'catalog_generation';

export async function readGeneration(db: Kysely<Database>): Promise<number> {
  const row = await db.selectFrom('idp_meta').select('value').where('key', '=', GENERATION_KEY).executeTakeFirst();
  return row ? Number(row.value) : 0;
}

/** Locks the catalog for writing: a row lock on PostgreSQL; SQLite has a single writer anyway. */
export async function lockCatalog(
  trx: Transaction<Database>,
  ctx: Pick<StoreContext, 'dialect' | 'clock'>,
): Promise<void> {
  const now = ctx.clock.now().toISOString();
  await trx
    .insertInto('idp_meta')
    .values({ key: GENERATION_KEY, value: '0', updated_at: now })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const q = trx.selectFrom('idp_meta').select('value').where('key', '=', GENERATION_KEY);
  await (ctx.dialect === 'postgres' ? q.forUpdate() : q).executeTakeFirst();
}

export async function bumpGeneration(trx: Transaction<Database>, ctx: Pick<StoreContext, 'clock'>): Promise<void> {
  const row = await trx.selectFrom('idp_meta').select('value').where('key', '=', GENERATION_KEY).executeTakeFirst();
  await trx
    .updateTable('idp_meta')
    .set({ value: String(Number(row?.value ?? 0) + 1), updated_at: ctx.clock.now().toISOString() })
    .where('key', '=', GENERATION_KEY)
    .execute();
}
