// Applying a location's read to the tables: diffing it against what the location holds (added, updated,
// unchanged, removed, refs another location has), writing the changes, and replacing its error list.
import type { Transaction } from 'kysely';
import type { Database } from '../../store/index.ts';
import { dropRelationsOf, deleteEntities, IN_CHUNK, stitch, type ChangedEntity } from './entity-rows.ts';
import { bumpGeneration, lockCatalog } from './generation.ts';
import { insertBatches, insertFlat } from './insert-batches.ts';
import type { ReadIssue, ReadResult } from './read.ts';
import {
  IDENTITY_KINDS,
  type EntityRow,
  type InTransaction,
  type LocationRow,
  type RefreshCounts,
  type StoreContext,
} from './store-types.ts';
import { chunk } from './util.ts';

/**
 * Applies what was read from a location: adds, updates and removes its entities, keeps the
 * entities of sources that failed to read and of entities that failed validation, reports
 * refs another location already provides, and replaces the location's error list.
 */
export async function applyRefresh(
  ctx: StoreContext,
  location: LocationRow,
  read: ReadResult,
  hook?: InTransaction,
  create = false,
): Promise<RefreshCounts> {
  return ctx.db.transaction().execute(async (trx) => {
    await lockCatalog(trx, ctx);
    // A new location and its first read commit together: a failed read leaves no location behind.
    if (create) await trx.insertInto('catalog_locations').values(location).execute();
    const now = ctx.clock.now().toISOString();
    const issues: ReadIssue[] = [...read.issues];
    const counts: RefreshCounts = {
      added: 0,
      updated: 0,
      removed: 0,
      unchanged: 0,
      errors: 0,
      warnings: read.unreachable ? [] : read.warnings,
      identityChanged: false,
    };

    if (read.unreachable) {
      await replaceErrors(ctx, trx, location.id, issues, now);
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

    const changed = new Map<string, ChangedEntity>();
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
      changed.set(e.ref, { uid: prev?.uid ?? ctx.newUid(), read: e, isNew: !prev });
      if (prev) counts.updated++;
      else counts.added++;
    }
    const removed = [...existing.values()].filter((row) => {
      if (seen.has(row.ref) || read.failedRefs.has(row.ref)) return false;
      return !read.failedSources.some(
        (failed) => row.source === failed || row.source.startsWith(`${failed}/`) || row.source.startsWith(`${failed}?`),
      );
    });
    counts.removed = removed.length;

    const rewritten = [...changed.values()].filter((c) => !c.isNew).map((c) => c.uid);
    const affected = await dropRelationsOf(trx, [...rewritten, ...removed.map((r) => r.uid)]);
    await deleteEntities(
      trx,
      removed.map((r) => r.uid),
    );

    const relationValues: string[] = [];
    for (const { uid, read: e } of changed.values()) {
      affected.add(e.ref);
      for (const r of e.relations) {
        relationValues.push(uid, r.source, r.type, r.target);
        affected.add(r.source);
      }
    }
    await insertFlat(trx, ctx.dialect, 'catalog_relations', RELATION_COLUMNS, relationValues);
    for (const r of removed) affected.delete(r.ref);

    const written = await stitch(trx, ctx.dialect, affected, changed, location.id, now);
    counts.identityChanged =
      written.some((k) => IDENTITY_KINDS.has(k)) || removed.some((r) => IDENTITY_KINDS.has(r.kind));

    await replaceErrors(ctx, trx, location.id, issues, now, read.warnings);
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
    await bumpGeneration(trx, ctx);
    await hook?.(trx, counts);
    return counts;
  });
}

async function replaceErrors(
  ctx: StoreContext,
  trx: Transaction<Database>,
  locationId: string,
  issues: ReadIssue[],
  now: string,
  warnings: ReadIssue[] = [],
): Promise<void> {
  await trx.deleteFrom('catalog_errors').where('location_id', '=', locationId).execute();
  await insertBatches(
    trx,
    ctx.dialect,
    'catalog_errors',
    [...issues, ...warnings].map((i, seq) => ({
      id: ctx.newUid(),
      location_id: locationId,
      seq,
      file: i.file,
      line: i.line,
      entity_ref: i.entityRef,
      message: i.message,
      at: now,
      severity: seq < issues.length ? 'error' : 'warning',
    })),
  );
}

const RELATION_COLUMNS = ['originating_uid', 'source_ref', 'type', 'target_ref'] as const;

function sourceDisplay(source: string): string {
  return source.replace(/^(file|url):/, '');
}
