// Entity rows: stitching each affected entity's final form (uid, etag, relations) with its search rows, and
// dropping the relations and rows of entities that go.
import type { Transaction } from 'kysely';
import type { Database, Dialect } from '../../store/index.ts';
import { insertBatches, insertFlat } from './insert-batches.ts';
import { yieldToLoop } from './read-connection.ts';
import type { ReadEntity } from './read.ts';
import { ingestWorker, IngestWorkerError } from './ingest-worker-client.ts';
import { stitchInput, type StitchedEntity, type StitchInput } from './stitch-entity.ts';
import type { EntityRow } from './store-types.ts';
import { chunk } from './util.ts';

export { unstitch } from './stitch-entity.ts';

/** How many ids go in one `in (…)` list. */
export const IN_CHUNK = 500;
/**
 * How many entities' rows one DELETE removes: an entity has about 30 search rows and a dozen
 * relation rows, and on SQLite a query waits for the statement running.
 */
const DELETE_CHUNK = 64;

/** An entity a refresh writes: its uid (kept, or new), what was read, and whether it is new. */
export interface ChangedEntity {
  uid: string;
  read: ReadEntity;
  isNew: boolean;
}

/** Deletes the relation rows the given entities caused; returns the refs whose relations changed. */
export async function dropRelationsOf(trx: Transaction<Database>, uids: string[]): Promise<Set<string>> {
  const affected = new Set<string>();
  for (const part of chunk(uids, DELETE_CHUNK)) {
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
  for (const part of chunk(uids, DELETE_CHUNK)) {
    await trx.deleteFrom('catalog_search').where('entity_uid', 'in', part).execute();
    await trx.deleteFrom('catalog_entities').where('uid', 'in', part).execute();
    await yieldToLoop();
  }
}

/** Entities stitched, and their rows written, at a time: what the heap holds at once. */
const STITCH_CHUNK = 200;

/** A chunk of entities to stitch: the row of each (but its etag, JSON and time) and what stitching needs. */
interface Prepared {
  bases: Omit<EntityRow, 'etag' | 'entity' | 'updated_at'>[];
  inputs: StitchInput[];
  /** Whether each is stored now (its rows are replaced). */
  stored: boolean[];
}

/**
 * Writes the final form (uid, etag, relations) of every affected entity that exists, with its
 * search rows, a chunk of entities at a time. Unchanged finals (same etag) are left alone.
 * Returns the kinds written. With many entities, the ingest worker stitches the next chunk
 * while this one is written.
 */
export async function stitch(
  trx: Transaction<Database>,
  dialect: Dialect,
  affected: Set<string>,
  changed: Map<string, ChangedEntity>,
  locationId: string,
  now: string,
): Promise<string[]> {
  const kinds: string[] = [];
  const parts = chunk([...affected], STITCH_CHUNK);
  let useWorker = affected.size >= ingestWorker.minStitch && (await ingestWorker.available());
  const run = async (part: string[]) => {
    const prepared = await prepare(trx, part, changed, locationId);
    let results: (StitchedEntity | undefined)[] | undefined;
    if (useWorker) {
      try {
        results = await ingestWorker.stitch(prepared.inputs);
      } catch (err) {
        if (!(err instanceof IngestWorkerError)) throw err;
        useWorker = false; // the rest on the main thread: nothing was written from the worker's part
      }
    }
    results ??= prepared.inputs.map((input) => stitchInput(input));
    return { prepared, results };
  };
  let next = parts.length ? run(parts[0]!) : undefined;
  for (let i = 0; next; i++) {
    const { prepared, results } = await next;
    next = i + 1 < parts.length ? run(parts[i + 1]!) : undefined;
    // Whatever happens to the worker's next part, it is awaited before this function returns.
    next?.catch(() => {});
    await write(trx, dialect, prepared, results, now, kinds);
    await yieldToLoop();
  }
  return kinds;
}

async function prepare(
  trx: Transaction<Database>,
  refs: string[],
  changed: Map<string, ChangedEntity>,
  locationId: string,
): Promise<Prepared> {
  const relationsBySource = new Map<string, { type: string; target: string }[]>();
  for (const r of await trx
    .selectFrom('catalog_relations')
    .select(['source_ref', 'type', 'target_ref'])
    .where('source_ref', 'in', refs)
    .execute()) {
    let list = relationsBySource.get(r.source_ref);
    if (!list) relationsBySource.set(r.source_ref, (list = []));
    list.push({ type: r.type, target: r.target_ref });
  }
  // The stored rows of the entities whose relations alone changed: a changed entity is written from what was read.
  const peers = new Map<string, EntityRow>();
  const missing = refs.filter((ref) => !changed.has(ref));
  if (missing.length) {
    for (const row of await trx.selectFrom('catalog_entities').selectAll().where('ref', 'in', missing).execute())
      peers.set(row.ref, row);
  }
  const out: Prepared = { bases: [], inputs: [], stored: [] };
  for (const ref of refs) {
    const change = changed.get(ref);
    const relations = relationsBySource.get(ref) ?? [];
    if (change) {
      const processed = change.read.entity;
      out.bases.push({
        uid: change.uid,
        ref,
        kind: change.read.kind,
        namespace: (processed.metadata.namespace ?? 'default').toLowerCase(),
        name: processed.metadata.name.toLowerCase(),
        location_id: locationId,
        source: change.read.source,
        parent_ref: change.read.parentRef,
        content_hash: change.read.contentHash,
      });
      out.inputs.push({ entity: processed, uid: change.uid, relations });
      out.stored.push(!change.isNew);
      continue;
    }
    const peer = peers.get(ref);
    if (!peer) continue; // a relation to an entity that is not in the catalog
    const { etag, entity, updated_at: _u, ...base } = peer;
    out.bases.push(base);
    out.inputs.push({ entity, uid: base.uid, relations, unchangedEtag: etag });
    out.stored.push(true);
  }
  return out;
}

async function write(
  trx: Transaction<Database>,
  dialect: Dialect,
  prepared: Prepared,
  results: (StitchedEntity | undefined)[],
  now: string,
  kinds: string[],
): Promise<void> {
  const rows: EntityRow[] = [];
  const replaced: string[] = [];
  const search: (string | null)[] = [];
  prepared.bases.forEach((base, i) => {
    const stitched = results[i];
    if (!stitched) return;
    rows.push({ ...base, etag: stitched.etag, entity: stitched.json, updated_at: now });
    if (prepared.stored[i]) replaced.push(base.uid);
    kinds.push(base.kind);
    for (let j = 0; j < stitched.search.length; j += 3)
      search.push(base.uid, stitched.search[j]!, stitched.search[j + 1]!, stitched.search[j + 2]!);
  });
  // Delete-and-insert in batches beats one UPDATE per row when thousands change at once.
  await deleteEntities(trx, replaced);
  await insertBatches(trx, dialect, 'catalog_entities', rows);
  await insertFlat(trx, dialect, 'catalog_search', SEARCH_COLUMNS, search);
}

const SEARCH_COLUMNS = ['entity_uid', 'key', 'value', 'original_value'] as const;
