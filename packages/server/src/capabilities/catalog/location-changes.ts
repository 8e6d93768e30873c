// Changing what is registered: re-pointing a location, unregistering it, and deleting a single entity.
import { IdpError } from '@idp/contracts';
import type { RequestContext } from '../../auth/context.ts';
import { PLATFORM } from '../../policy/gate.ts';
import type { LocationIngest } from './ingest.ts';
import type { CatalogLocationsDeps } from './location-deps.ts';
import { normalizeTarget } from './location-target.ts';
import { locationNotFound } from './location-view.ts';
import { readsServerFiles } from './sources.ts';
import type { LocationRow } from './store.ts';

export async function updateLocation(
  deps: CatalogLocationsDeps,
  ingest: LocationIngest,
  ctx: RequestContext,
  id: string,
  type: string,
  target: string,
): Promise<LocationRow> {
  const row = await deps.tables.getLocation(id);
  if (!row) throw locationNotFound(id);
  const next = normalizeTarget(target, type);
  await deps.gate.enforce(ctx, {
    action: 'catalog:register',
    resource: PLATFORM,
    context: {
      locationType: readsServerFiles(next.type, next.target, deps.readOptions?.sharedGitRoots) ? 'file' : next.type,
    },
  });
  // Pointing an identity source somewhere else decides who the users are: admins only.
  if (row.identity_source)
    await deps.gate.enforce(ctx, {
      action: 'catalog:identity-source',
      resource: PLATFORM,
      context: { locationType: next.type },
    });
  // Reads run with the trust of whoever chose the target (sources.ts), so that is now the updater.
  await deps.tables.updateLocationTarget(id, next.type, next.target, ctx.principal.ref);
  const updated = { ...row, ...next, created_by: ctx.principal.ref };
  await ingest.refreshRow(updated, ctx, false);
  return updated;
}

export async function deleteLocation(
  deps: CatalogLocationsDeps,
  ingest: LocationIngest,
  ctx: RequestContext,
  id: string,
): Promise<void> {
  const row = await deps.tables.getLocation(id);
  if (!row) throw locationNotFound(id);
  const decision = await deps.gate.enforce(ctx, {
    action: 'catalog:delete',
    resource: PLATFORM,
    context: { locationType: row.type },
  });
  if (row.origin === 'config') {
    throw new IdpError(
      'CONFLICT',
      `the location ${row.type}:${row.target} comes from idp.config.yaml and would come back at the next start`,
      {
        id,
        hint: 'Remove it from catalog.locations in idp.config.yaml and restart the server.',
      },
    );
  }
  const counts = await ingest.write(() =>
    deps.tables.deleteLocation(id, async (trx, c) => {
      await deps.audit.append(
        {
          actor: ctx.principal.ref,
          action: 'catalog:delete',
          target: `location:${id}`,
          decision: 'allow',
          policyIds: decision.permittedBy,
          requestId: ctx.requestId,
          details: { type: row.type, target: row.target, removed: c.removed },
        },
        trx,
      );
    }),
  );
  await ingest.afterWrite(counts, ctx.principal.ref);
}

export async function deleteEntityByUid(
  deps: CatalogLocationsDeps,
  ingest: LocationIngest,
  ctx: RequestContext,
  uid: string,
): Promise<void> {
  const found = await deps.queries.byUid(uid);
  const decision = await deps.gate.enforce(ctx, { action: 'catalog:delete', resource: PLATFORM });
  if (!found) return;
  const counts = await ingest.write(() =>
    deps.tables.deleteEntity(uid, async (trx) => {
      await deps.audit.append(
        {
          actor: ctx.principal.ref,
          action: 'catalog:delete',
          target: `entity:${found.ref}`,
          decision: 'allow',
          policyIds: decision.permittedBy,
          requestId: ctx.requestId,
          details: { uid },
        },
        trx,
      );
    }),
  );
  await ingest.afterWrite(counts, ctx.principal.ref);
}
