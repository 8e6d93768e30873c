// An environment's lifetime after creation: extending its TTL and deleting it.
import type { Environment } from '@idp/contracts';
import { formatDuration, parseDuration } from '@idp/core';
import type { RequestContext } from '../../auth/context.ts';
import { enforce, nowSeconds } from './decide.ts';
import type { EnvironmentParts } from './deps.ts';
import { assertNotBase, notFound, notReady } from './errors.ts';
import { getEnvironment } from './listing.ts';
import { assertEnvName } from './names.ts';
import { environmentEntity } from './view.ts';

export async function extendEnvironment(
  parts: EnvironmentParts,
  ctx: RequestContext,
  name: string,
  ttlText: string,
): Promise<Environment> {
  const { deps } = parts;
  const row = await parts.store.live(assertEnvName(name, 'name'));
  if (!row) throw notFound(name);
  const ttlSeconds = parseDuration(ttlText, 'ttl');
  assertNotBase(row, 'extended');
  const decision = await enforce(deps, ctx, 'env:extend', environmentEntity(row), {
    now: nowSeconds(deps),
    ttlSeconds,
  });
  if (row.status === 'deleting') throw notReady(row, 'extended');
  const expiresAt = new Date(deps.clock.now().getTime() + ttlSeconds * 1000).toISOString();
  await deps.db.transaction().execute(async (trx) => {
    await trx
      .updateTable('environments')
      .set({ expires_at: expiresAt, ttl_seconds: ttlSeconds, notified_at: null })
      .where('id', '=', row.id)
      .execute();
    await deps.audit.append(
      {
        actor: ctx.principal.ref,
        action: 'env:extend',
        target: `environment:${row.name}`,
        decision: 'allow',
        policyIds: decision.permittedBy,
        requestId: ctx.requestId,
        details: { ttl: formatDuration(ttlSeconds), previousExpiresAt: row.expires_at, expiresAt },
      },
      trx,
    );
  });
  return getEnvironment(parts, ctx, name);
}

export async function deleteEnvironment(
  parts: EnvironmentParts,
  ctx: RequestContext,
  name: string,
): Promise<Environment> {
  const { deps } = parts;
  const row = await parts.store.live(assertEnvName(name, 'name'));
  if (!row) throw notFound(name);
  assertNotBase(row, 'deleted');
  const decision = await enforce(deps, ctx, 'env:delete', environmentEntity(row), { now: nowSeconds(deps) });
  await parts.workflow.startDelete(row, ctx.principal.ref, ctx.requestId, { policyIds: decision.permittedBy });
  return getEnvironment(parts, ctx, name);
}
