// Refreshing on request: one location, every location (also the timer's), or the location of one entity.
import { IdpError, type RefreshResult } from '@idp/contracts';
import type { RequestContext } from '../../auth/context.ts';
import { PLATFORM } from '../../policy/gate.ts';
import type { LocationIngest } from './ingest.ts';
import type { CatalogLocationsDeps } from './location-deps.ts';
import { locationNotFound } from './location-view.ts';
import { normalizeRef } from './util.ts';

export async function refreshLocation(
  deps: CatalogLocationsDeps,
  ingest: LocationIngest,
  ctx: RequestContext,
  id: string,
): Promise<RefreshResult> {
  const row = await deps.tables.getLocation(id);
  if (!row) throw locationNotFound(id);
  await deps.gate.enforce(ctx, {
    action: 'catalog:refresh',
    resource: PLATFORM,
    context: { locationType: row.type },
  });
  return (await ingest.refreshRow(row, ctx, false)).result;
}

/** Every location, one after another. ctx null: the timer (not audited). */
export async function refreshAll(
  deps: CatalogLocationsDeps,
  ingest: LocationIngest,
  ctx: RequestContext | null,
): Promise<RefreshResult[]> {
  if (ctx) await deps.gate.enforce(ctx, { action: 'catalog:refresh', resource: PLATFORM });
  const out: RefreshResult[] = [];
  for (const row of await deps.tables.listLocations()) {
    if (deps.stopped() && !ctx) break;
    out.push((await ingest.refreshRow(row, ctx, false)).result);
  }
  return out;
}

/** Backstage's POST /refresh: reads the entity's location again, now. */
export async function refreshEntity(
  deps: CatalogLocationsDeps,
  ingest: LocationIngest,
  ctx: RequestContext,
  entityRef: string,
): Promise<void> {
  const ref = normalizeRef(entityRef);
  const row = ref ? await deps.queries.rowByRef(ref) : undefined;
  if (!row) throw new IdpError('NOT_FOUND', `no entity ${entityRef} in the catalog`, { field: 'entityRef' });
  await refreshLocation(deps, ingest, ctx, row.location_id);
}
