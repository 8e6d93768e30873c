import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database, Dialect } from '../../store/index.ts';
import type { Clock } from '../../clock.ts';
import { applyRefresh } from './apply-refresh.ts';
import { deleteEntities, dropRelationsOf, stitch } from './entity-rows.ts';
import { bumpGeneration, lockCatalog, readGeneration } from './generation.ts';
import type { ReadResult } from './read.ts';
import {
  IDENTITY_KINDS,
  type InTransaction,
  type LocationRow,
  type LocationStats,
  type RefreshCounts,
  type StoreContext,
} from './store-types.ts';
import { uuidV7 } from './util.ts';

export type { InTransaction, LocationRow, RefreshCounts } from './store-types.ts';
export { unstitch } from './entity-rows.ts';

/**
 * The catalog's tables. Every write (a location's refresh, its removal, an entity's removal)
 * runs in one transaction, stitches every entity whose relations it changed, and bumps the
 * catalog generation, so readers and caches see either all of a change or none of it.
 *
 * The location rows are read and written here; the refresh's diff is in apply-refresh.ts, the
 * entity rows (stitching, relations, deletion) in entity-rows.ts, the generation and write lock
 * in generation.ts, bulk inserts in insert-batches.ts.
 */
export class CatalogStore {
  private readonly ctx: StoreContext;

  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
    private readonly clock: Clock,
    newUid: () => string = () => uuidV7(),
  ) {
    this.ctx = { db, dialect, clock, newUid };
  }

  generation(): Promise<number> {
    return readGeneration(this.db);
  }

  async listLocations(): Promise<LocationRow[]> {
    return this.db.selectFrom('catalog_locations').selectAll().orderBy('created_at').orderBy('id').execute();
  }

  async getLocation(id: string): Promise<LocationRow | undefined> {
    return this.db.selectFrom('catalog_locations').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async findLocation(type: LocationRow['type'], target: string): Promise<LocationRow | undefined> {
    return this.db
      .selectFrom('catalog_locations')
      .selectAll()
      .where('type', '=', type)
      .where('target', '=', target)
      .executeTakeFirst();
  }

  async locationStats(): Promise<Map<string, LocationStats>> {
    const [ents, errs] = await Promise.all([
      this.db
        .selectFrom('catalog_entities')
        .select(['location_id', sql<number>`count(*)`.as('n')])
        .groupBy('location_id')
        .execute(),
      this.db
        .selectFrom('catalog_errors')
        .select(['location_id', 'severity', sql<number>`count(*)`.as('n')])
        .groupBy(['location_id', 'severity'])
        .execute(),
    ]);
    const out = new Map<string, LocationStats>();
    const of = (id: string) => {
      let s = out.get(id);
      if (!s) out.set(id, (s = { entities: 0, errors: 0, warnings: 0 }));
      return s;
    };
    for (const r of ents) of(r.location_id).entities = Number(r.n);
    for (const r of errs) of(r.location_id)[r.severity === 'warning' ? 'warnings' : 'errors'] += Number(r.n);
    return out;
  }

  async insertLocation(row: LocationRow, trx?: Transaction<Database>): Promise<void> {
    await (trx ?? this.db).insertInto('catalog_locations').values(row).execute();
  }

  async setIdentitySource(id: string, identity: number): Promise<void> {
    await this.db.updateTable('catalog_locations').set({ identity_source: identity }).where('id', '=', id).execute();
  }

  /** A new target is the updater's choice: they become its creator, whose trust its reads get. */
  async updateLocationTarget(id: string, type: LocationRow['type'], target: string, by: string): Promise<void> {
    await this.db
      .updateTable('catalog_locations')
      .set({ type, target, status: 'pending', created_by: by })
      .where('id', '=', id)
      .execute();
  }

  /**
   * Applies what was read from a location: adds, updates and removes its entities, keeps the
   * entities of sources that failed to read and of entities that failed validation, reports
   * refs another location already provides, and replaces the location's error list.
   */
  applyRefresh(location: LocationRow, read: ReadResult, hook?: InTransaction, create = false): Promise<RefreshCounts> {
    return applyRefresh(this.ctx, location, read, hook, create);
  }

  /** Removes a location with every entity it provided (and the relations they caused). */
  async deleteLocation(id: string, hook?: InTransaction): Promise<RefreshCounts> {
    return this.db.transaction().execute(async (trx) => {
      await lockCatalog(trx, this.ctx);
      const rows = await trx
        .selectFrom('catalog_entities')
        .select(['uid', 'ref', 'kind'])
        .where('location_id', '=', id)
        .execute();
      const counts = await this.removeEntityRows(trx, rows);
      await trx.deleteFrom('catalog_errors').where('location_id', '=', id).execute();
      await trx.deleteFrom('catalog_locations').where('id', '=', id).execute();
      await bumpGeneration(trx, this.ctx);
      await hook?.(trx, counts);
      return counts;
    });
  }

  /** Removes one entity; it comes back at its location's next refresh if the location still has it. */
  async deleteEntity(uid: string, hook?: InTransaction): Promise<RefreshCounts> {
    return this.db.transaction().execute(async (trx) => {
      await lockCatalog(trx, this.ctx);
      const rows = await trx
        .selectFrom('catalog_entities')
        .select(['uid', 'ref', 'kind'])
        .where('uid', '=', uid)
        .execute();
      const counts = await this.removeEntityRows(trx, rows);
      await bumpGeneration(trx, this.ctx);
      await hook?.(trx, counts);
      return counts;
    });
  }

  private async removeEntityRows(
    trx: Transaction<Database>,
    rows: { uid: string; ref: string; kind: string }[],
  ): Promise<RefreshCounts> {
    const affected = await dropRelationsOf(
      trx,
      rows.map((r) => r.uid),
    );
    await deleteEntities(
      trx,
      rows.map((r) => r.uid),
    );
    for (const r of rows) affected.delete(r.ref);
    const written = await stitch(trx, this.dialect, affected, new Map(), '', this.clock.now().toISOString());
    return {
      added: 0,
      updated: 0,
      removed: rows.length,
      unchanged: 0,
      errors: 0,
      warnings: [],
      identityChanged: rows.some((r) => IDENTITY_KINDS.has(r.kind)) || written.some((k) => IDENTITY_KINDS.has(k)),
    };
  }
}
