// Entity rows: stitching each affected entity's final form (uid, etag, relations) with its search rows, and
// dropping the relations and rows of entities that go.
import type { Transaction } from 'kysely';
import type { Entity } from '@backstage/catalog-model';
import { canonicalJson } from '@idp/core';
import type { Database, Dialect } from '../../store/index.ts';
import { insertBatches } from './insert-batches.ts';
import { yieldToLoop } from './read-connection.ts';
import type { ReadEntity } from './read.ts';
import { toEntityRelations } from './relations.ts';
import { buildSearchRows } from './search.ts';
import type { EntityRow } from './store-types.ts';
import { chunk, sha1 } from './util.ts';

/** How many ids go in one `in (…)` list. */
export const IN_CHUNK = 500;

/** An entity a refresh writes: its uid (kept, or new), what was read, and whether it is new. */
export interface ChangedEntity {
  uid: string;
  read: ReadEntity;
  isNew: boolean;
}

/** Deletes the relation rows the given entities caused; returns the refs whose relations changed. */
export async function dropRelationsOf(trx: Transaction<Database>, uids: string[]): Promise<Set<string>> {
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
    await yieldToLoop();
  }
  return affected;
}

export async function deleteEntities(trx: Transaction<Database>, uids: string[]): Promise<void> {
  for (const part of chunk(uids, IN_CHUNK)) {
    await trx.deleteFrom('catalog_search').where('entity_uid', 'in', part).execute();
    await trx.deleteFrom('catalog_entities').where('uid', 'in', part).execute();
    await yieldToLoop();
  }
}

/**
 * Writes the final form (uid, etag, relations) of every affected entity that exists, with its
 * search rows. Unchanged finals (same etag) are left alone. Returns the kinds written.
 */
export async function stitch(
  trx: Transaction<Database>,
  dialect: Dialect,
  affected: Set<string>,
  changed: Map<string, ChangedEntity>,
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
    await yieldToLoop();
  }

  const rows: EntityRow[] = [];
  const replaced: string[] = [];
  const search: Database['catalog_search'][] = [];
  const kinds: string[] = [];
  let n = 0;
  for (const ref of refs) {
    if (++n % 200 === 0) await yieldToLoop();
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
    await yieldToLoop();
  }
  await insertBatches(trx, dialect, 'catalog_entities', rows);
  await insertBatches(trx, dialect, 'catalog_search', search);
  return kinds;
}

/** The entity as read, without what stitching adds (uid, etag, relations). */
export function unstitch(final: Entity): Entity {
  const { relations: _r, ...rest } = final;
  const { uid: _u, etag: _e, ...metadata } = final.metadata;
  return { ...rest, metadata } as Entity;
}
