// Which locations are identity sources: deciding it when one is registered, and switching it on or off later.
import { IdpError, type RefreshResult } from '@idp/contracts';
import type { RequestContext } from '../../auth/context.ts';
import { PLATFORM } from '../../policy/gate.ts';
import { IDENTITY_UNTRUSTED } from './identity-sources.ts';
import type { LocationIngest } from './ingest.ts';
import type { CatalogLocationsDeps } from './location-deps.ts';
import { locationNotFound } from './location-view.ts';

/**
 * Whether a location being registered is an identity source. Only platform admins (the
 * catalog:identity-source action) make one; they do by default, unless they say otherwise.
 * Anyone else asking for it is refused (and audited); without asking, theirs is not one.
 */
export async function identityDecision(
  deps: Pick<CatalogLocationsDeps, 'gate'>,
  ctx: RequestContext,
  asked: boolean | undefined,
): Promise<number> {
  const req = { action: 'catalog:identity-source', resource: PLATFORM };
  const decision = deps.gate.decide(ctx.principal.ref, req);
  if (decision.decision === 'allow') return asked === false ? 0 : 1;
  if (asked) {
    await deps.gate.refuse(
      ctx,
      req,
      decision,
      new IdpError(
        IDENTITY_UNTRUSTED,
        'only platform admins may register an identity source (a location whose Users and Groups make the directory)',
        {
          field: 'identitySource',
          hint: 'Register the location without --identity-source (its other entities load), or ask your platform team to register it.',
        },
      ),
    );
  }
  return 0;
}

/** Marks or unmarks a registered location as an identity source, and reads it again at once. */
export async function setIdentitySource(
  deps: CatalogLocationsDeps,
  ingest: LocationIngest,
  ctx: RequestContext,
  id: string,
  on: boolean,
): Promise<RefreshResult> {
  const row = await deps.tables.getLocation(id);
  if (!row) throw locationNotFound(id);
  const decision = await deps.gate.enforce(ctx, {
    action: 'catalog:identity-source',
    resource: PLATFORM,
    context: { locationType: row.type },
  });
  if (row.origin === 'config') {
    throw new IdpError(
      'CONFLICT',
      `the location ${row.type}:${row.target} comes from idp.config.yaml; the config decides whether it is an identity source`,
      {
        id,
        hint: 'Use catalog.identitySources in idp.config.yaml and restart the server.',
      },
    );
  }
  const next = { ...row, identity_source: on ? 1 : 0 };
  const started = performance.now();
  const read = await ingest.read(next);
  const counts = await ingest.apply(
    next,
    read,
    async (trx, c) => {
      await trx
        .updateTable('catalog_locations')
        .set({ identity_source: next.identity_source })
        .where('id', '=', id)
        .execute();
      await deps.audit.append(
        {
          actor: ctx.principal.ref,
          action: 'catalog:identity-source',
          target: `location:${id}`,
          decision: 'allow',
          policyIds: decision.permittedBy,
          requestId: ctx.requestId,
          details: {
            type: row.type,
            target: row.target,
            identitySource: on,
            added: c.added,
            removed: c.removed,
            errors: c.errors,
          },
        },
        trx,
      );
    },
    false,
    ctx.principal.ref,
  );
  return ingest.resultOf(id, counts, started);
}
