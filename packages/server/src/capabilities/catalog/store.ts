import { CompiledQuery, sql, type Kysely, type Transaction } from 'kysely';
import type { Entity } from '@backstage/catalog-model';
import type { Database, Dialect } from '../../store/index.ts';
import type { Clock } from '../../clock.ts';
import type { ReadEntity, ReadIssue, ReadResult } from './read.ts';
import { toEntityRelations } from './relations.ts';
import { buildSearchRows } from './search.ts';
import { canonicalJson } from '@idp/core';
import { chunk, sha1, uuidV7 } from './util.ts';

export type LocationRow = Database['catalog_locations'];
type EntityRow = Database['catalog_entities'];

export interface RefreshCounts {
  added: number;
  updated: number;
  removed: number;
  unchanged: number;
  errors: number;
  /** Whether a User or Group entity was written or removed: the directory must be rebuilt. */
  identityChanged: boolean;
}

/** Hook run inside the write transaction, so an audit record commits with the change it describes. */
export type InTransaction = (trx: Transaction<Database>, counts: RefreshCounts) => Promise<void>;

const GENERATION_KEY = 'catalog_generation';
// SQLite allows 32,766 bound parameters per statement and PostgreSQL 65,535.
const MAX_PARAMS = 30_000;
const IN_CHUNK = 500;
const IDENTITY_KINDS = new Set(['user', 'group']);

/**
 * The catalog's tables. Every write (a location's refresh, its removal, an entity's removal)
 * runs in one transaction, stitches every entity whose relations it changed, and bumps the
 * catalog generation, so readers and caches see either all of a change or none of it.
 */
export class CatalogStore {
  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: Dialect,
    private readonly clock: Clock,
    private readonly newUid: () => string = () => uuidV7(),
  ) {}

  async generation(): Promise<number> {
    const row = await this.db
      .selectFrom('idp_meta')
      .select('value')
      .where('key', '=', GENERATION_KEY)
      .executeTakeFirst();
    return row ? Number(row.value) : 0;
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

  async locationStats(): Promise<Map<string, { entities: number; errors: number }>> {
    const [ents, errs] = await Promise.all([
      this.db
        .selectFrom('catalog_entities')
        .select(['location_id', sql<number>`count(*)`.as('n')])
        .groupBy('location_id')
        .execute(),
      this.db
        .selectFrom('catalog_errors')
        .select(['location_id', sql<number>`count(*)`.as('n')])
        .groupBy('location_id')
        .execute(),
    ]);
    const out = new Map<string, { entities: number; errors: number }>();
    for (const r of ents) out.set(r.location_id, { entities: Number(r.n), errors: 0 });
    for (const r of errs)
      out.set(r.location_id, { entities: out.get(r.location_id)?.entities ?? 0, errors: Number(r.n) });
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

  /** Locks the catalog for writing: a row lock on PostgreSQL; SQLite has a single writer anyway. */
  private async lock(trx: Transaction<Database>): Promise<void> {
    const now = this.clock.now().toISOString();
    await trx
      .insertInto('idp_meta')
      .values({ key: GENERATION_KEY, value: '0', updated_at: now })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    const q = trx.selectFrom('idp_meta').select('value').where('key', '=', GENERATION_KEY);
    await (this.dialect === 'postgres' ? q.forUpdate() : q).executeTakeFirst();
  }

  private async bumpGeneration(trx: Transaction<Database>): Promise<void> {
    const row = await trx.selectFrom('idp_meta').select('value').where('key', '=', GENERATION_KEY).executeTakeFirst();
    await trx
      .updateTable('idp_meta')
      .set({ value: String(Number(row?.value ?? 0) + 1), updated_at: this.clock.now().toISOString() })
      .where('key', '=', GENERATION_KEY)
      .execute();
  }

  /**
   * Applies what was read from a location: adds, updates and removes its entities, keeps the
   * entities of sources that failed to read and of entities that failed validation, reports
   * refs another location already provides, and replaces the location's error list.
   */
  async applyRefresh(
    location: LocationRow,
    read: ReadResult,
    hook?: InTransaction,
    create = false,
  ): Promise<RefreshCounts> {
    return this.db.transaction().execute(async (trx) => {
      await this.lock(trx);
      // A new location and its first read commit together: a failed read leaves no location behind.
      if (create) await trx.insertInto('catalog_locations').values(location).execute();
      const now = this.clock.now().toISOString();
      const issues: ReadIssue[] = [...read.issues];
      const counts: RefreshCounts = {
        added: 0,
        updated: 0,
        removed: 0,
        unchanged: 0,
        errors: 0,
        identityChanged: false,
      };

      if (read.unreachable) {
        await this.replaceErrors(trx, location.id, issues, now);
        await trx
          .updateTable('catalog_locations')
          .set({ status: 'error', last_error: read.unreachable, refreshed_at: now })
          .where('id', '=', location.id)
          .execute();
        counts.errors = issues.length;
        await hook?.(trx, counts);
        return counts;
      }

      const existing = new Map<string, Pick<EntityRow, 'uid' | 'ref' | 'kind' | 'content_hash' | 'source'>>();
      for (const row of await trx
        .selectFrom('catalog_entities')
        .select(['uid', 'ref', 'kind', 'content_hash', 'source'])
        .where('location_id', '=', location.id)
        .execute()) {
        existing.set(row.ref, row);
      }
      const foreign = new Map<string, string>();
      const candidates = read.entities.filter((e) => !existing.has(e.ref)).map((e) => e.ref);
      for (const part of chunk(candidates, IN_CHUNK)) {
        const rows = await trx
          .selectFrom('catalog_entities as e')
          .innerJoin('catalog_locations as l', 'l.id', 'e.location_id')
          .select(['e.ref', 'l.type', 'l.target', 'l.id'])
          .where('e.ref', 'in', part)
          .execute();
        for (const r of rows) foreign.set(r.ref, `${r.type}:${r.target} (${r.id})`);
      }

      const changed = new Map<string, { uid: string; read: ReadEntity; isNew: boolean }>();
      const seen = new Set<string>();
      for (const e of read.entities) {
        const owner = foreign.get(e.ref);
        if (owner) {
          issues.push({
            file: sourceDisplay(e.source),
            line: null,
            entityRef: e.ref,
            message: `conflict: ${e.ref} is already provided by location ${owner}; the first location keeps it`,
          });
          continue;
        }
        seen.add(e.ref);
        const prev = existing.get(e.ref);
        if (prev && prev.content_hash === e.contentHash && prev.source === e.source) {
          counts.unchanged++;
          continue;
        }
        changed.set(e.ref, { uid: prev?.uid ?? this.newUid(), read: e, isNew: !prev });
        if (prev) counts.updated++;
        else counts.added++;
      }
      const removed = [...existing.values()].filter((row) => {
        if (seen.has(row.ref) || read.failedRefs.has(row.ref)) return false;
        return !read.failedSources.some(
          (failed) =>
            row.source === failed || row.source.startsWith(`${failed}/`) || row.source.startsWith(`${failed}?`),
        );
      });
      counts.removed = removed.length;

      const rewritten = [...changed.values()].filter((c) => !c.isNew).map((c) => c.uid);
      const affected = await this.dropRelationsOf(trx, [...rewritten, ...removed.map((r) => r.uid)]);
      await this.deleteEntities(
        trx,
        removed.map((r) => r.uid),
      );

      const relationRows: Database['catalog_relations'][] = [];
      for (const { uid, read: e } of changed.values()) {
        affected.add(e.ref);
        for (const r of e.relations) {
          relationRows.push({ originating_uid: uid, source_ref: r.source, type: r.type, target_ref: r.target });
          affected.add(r.source);
        }
      }
      await insertBatches(trx, this.dialect, 'catalog_relations', relationRows);
      for (const r of removed) affected.delete(r.ref);

      const written = await this.stitch(trx, affected, changed, location.id, now);
      counts.identityChanged =
        written.some((k) => IDENTITY_KINDS.has(k)) || removed.some((r) => IDENTITY_KINDS.has(r.kind));

      await this.replaceErrors(trx, location.id, issues, now);
      counts.errors = issues.length;
      await trx
        .updateTable('catalog_locations')
        .set({
          status: 'ok',
          last_error: issues.length
            ? `${issues.length} problem${issues.length === 1 ? '' : 's'}; first: ${issues[0]!.message}`
            : null,
          refreshed_at: now,
        })
        .where('id', '=', location.id)
        .execute();
      await this.bumpGeneration(trx);
      await hook?.(trx, counts);
      return counts;
    });
  }

  /** Removes a location with every entity it provided (and the relations they caused). */
  async deleteLocation(id: string, hook?: InTransaction): Promise<RefreshCounts> {
    return this.db.transaction().execute(async (trx) => {
      await this.lock(trx);
      const rows = await trx
        .selectFrom('catalog_entities')
        .select(['uid', 'ref', 'kind'])
        .where('location_id', '=', id)
        .execute();
      const counts = await this.removeEntityRows(trx, rows);
      await trx.deleteFrom('catalog_errors').where('location_id', '=', id).execute();
      await trx.deleteFrom('catalog_locations').where('id', '=', id).execute();
      await this.bumpGeneration(trx);
      await hook?.(trx, counts);
      return counts;
    });
  }

  /** Removes one entity; it comes back at its location's next refresh if the location still has it. */
  async deleteEntity(uid: string, hook?: InTransaction): Promise<RefreshCounts> {
    return this.db.transaction().execute(async (trx) => {
      await this.lock(trx);
      const rows = await trx
        .selectFrom('catalog_entities')
        .select(['uid', 'ref', 'kind'])
        .where('uid', '=', uid)
        .execute();
      const counts = await this.removeEntityRows(trx, rows);
      await this.bumpGeneration(trx);
      await hook?.(trx, counts);
      return counts;
    });
  }

  private async removeEntityRows(
    trx: Transaction<Database>,
    rows: { uid: string; ref: string; kind: string }[],
  ): Promise<RefreshCounts> {
    const affected = await this.dropRelationsOf(
      trx,
      rows.map((r) => r.uid),
    );
    await this.deleteEntities(
      trx,
      rows.map((r) => r.uid),
    );
    for (const r of rows) affected.delete(r.ref);
    const written = await this.stitch(trx, affected, new Map(), '', this.clock.now().toISOString());
    return {
      added: 0,
      updated: 0,
      removed: rows.length,
      unchanged: 0,
      errors: 0,
      identityChanged: rows.some((r) => IDENTITY_KINDS.has(r.kind)) || written.some((k) => IDENTITY_KINDS.has(k)),
    };
  }

  /** Deletes the relation rows the given entities caused; returns the refs whose relations changed. */
  private async dropRelationsOf(trx: Transaction<Database>, uids: string[]): Promise<Set<string>> {
    const affected = new Set<string>();
    for (const part of chunk(uids, IN_CHUNK)) {
      const rows = await trx
        .selectFrom('catalog_relations')
        .select('source_ref')
        .distinct()
        .where('originating_uid', 'in', part)
        .execute();
      for (const r of rows) affected.add(r.source_ref);
      await trx.deleteFrom('catalog_relations').where('originating_uid', 'in', part).execute();
    }
    return affected;
  }

  private async deleteEntities(trx: Transaction<Database>, uids: string[]): Promise<void> {
    for (const part of chunk(uids, IN_CHUNK)) {
      await trx.deleteFrom('catalog_search').where('entity_uid', 'in', part).execute();
      await trx.deleteFrom('catalog_entities').where('uid', 'in', part).execute();
    }
  }

  /**
   * Writes the final form (uid, etag, relations) of every affected entity that exists, with its
   * search rows. Unchanged finals (same etag) are left alone. Returns the kinds written.
   */
  private async stitch(
    trx: Transaction<Database>,
    affected: Set<string>,
    changed: Map<string, { uid: string; read: ReadEntity; isNew: boolean }>,
    locationId: string,
    now: string,
  ): Promise<string[]> {
    const refs = [...affected];
    const relationsBySource = new Map<string, { type: string; target: string }[]>();
    const peers = new Map<string, EntityRow>();
    for (const part of chunk(refs, IN_CHUNK)) {
      const rels = await trx
        .selectFrom('catalog_relations')
        .select(['source_ref', 'type', 'target_ref'])
        .where('source_ref', 'in', part)
        .execute();
      for (const r of rels) {
        let list = relationsBySource.get(r.source_ref);
        if (!list) relationsBySource.set(r.source_ref, (list = []));
        list.push({ type: r.type, target: r.target_ref });
      }
      const missing = part.filter((ref) => !changed.get(ref)?.isNew);
      if (missing.length) {
        for (const row of await trx.selectFrom('catalog_entities').selectAll().where('ref', 'in', missing).execute())
          peers.set(row.ref, row);
      }
    }

    const rows: EntityRow[] = [];
    const replaced: string[] = [];
    const search: Database['catalog_search'][] = [];
    const kinds: string[] = [];
    for (const ref of refs) {
      const change = changed.get(ref);
      const peer = peers.get(ref);
      let processed: Entity;
      let base: Omit<EntityRow, 'etag' | 'entity' | 'updated_at'>;
      if (change) {
        processed = change.read.entity;
        base = {
          uid: change.uid,
          ref,
          kind: change.read.kind,
          namespace: (processed.metadata.namespace ?? 'default').toLowerCase(),
          name: processed.metadata.name.toLowerCase(),
          location_id: locationId,
          source: change.read.source,
          parent_ref: change.read.parentRef,
          content_hash: change.read.contentHash,
        };
      } else if (peer) {
        processed = unstitch(JSON.parse(peer.entity) as Entity);
        const { etag: _e, entity: _j, updated_at: _u, ...rest } = peer;
        base = rest;
      } else {
        continue; // a relation to an entity that is not in the catalog
      }
      const relations = toEntityRelations(relationsBySource.get(ref) ?? []);
      const withRelations = { ...processed, relations };
      const etag = sha1(canonicalJson(withRelations));
      if (peer && peer.etag === etag && !change) continue;
      const final = { ...processed, metadata: { ...processed.metadata, uid: base.uid, etag }, relations } as Entity;
      rows.push({ ...base, etag, entity: JSON.stringify(final), updated_at: now });
      if (peer) replaced.push(base.uid);
      kinds.push(base.kind);
      for (const s of buildSearchRows(final))
        search.push({ entity_uid: base.uid, key: s.key, value: s.value, original_value: s.original });
    }
    // Delete-and-insert in batches beats one UPDATE per row when thousands change at once.
    for (const part of chunk(replaced, IN_CHUNK)) {
      await trx.deleteFrom('catalog_search').where('entity_uid', 'in', part).execute();
      await trx.deleteFrom('catalog_entities').where('uid', 'in', part).execute();
    }
    await insertBatches(trx, this.dialect, 'catalog_entities', rows);
    await insertBatches(trx, this.dialect, 'catalog_search', search);
    return kinds;
  }

  private async replaceErrors(
    trx: Transaction<Database>,
    locationId: string,
    issues: ReadIssue[],
    now: string,
  ): Promise<void> {
    await trx.deleteFrom('catalog_errors').where('location_id', '=', locationId).execute();
    await insertBatches(
      trx,
      this.dialect,
      'catalog_errors',
      issues.map((i, seq) => ({
        id: this.newUid(),
        location_id: locationId,
        seq,
        file: i.file,
        line: i.line,
        entity_ref: i.entityRef,
        message: i.message,
        at: now,
      })),
    );
  }
}

/** The entity as read, without what stitching adds (uid, etag, relations). */
export function unstitch(final: Entity): Entity {
  const { relations: _r, ...rest } = final;
  const { uid: _u, etag: _e, ...metadata } = final.metadata;
  return { ...rest, metadata } as Entity;
}

function sourceDisplay(source: string): string {
  return source.replace(/^(file|url):/, '');
}

/**
 * Multi-row INSERTs written directly: at 10,000 entities (300,000+ search rows) building each
 * statement through the query builder costs more than SQLite takes to run it. Table and column
 * names are our own constants; every value is a bound parameter.
 */
async function insertBatches<T extends keyof Database>(
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
  }
}
