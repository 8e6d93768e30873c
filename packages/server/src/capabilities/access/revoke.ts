// Revoking access: ending one grant early (or withdrawing a pending request), and ending all of an environment's with it.
import { IdpError, type AccessRequest, type RevokeAccessRequest } from '@idp/contracts';
import type { RequestContext } from '../../auth/context.ts';
import { userUid } from '../../identity/index.ts';
import type { AccessDeps } from './deps.ts';
import { enforceWithDuration } from './duration-limit.ts';
import { requestView, scopeOfRow, statusOf } from './requests.ts';
import { transition } from './transition.ts';
import { visibleRow } from './visibility.ts';

/** Ends an active grant early, or withdraws a pending request. */
export async function revokeRequest(
  deps: AccessDeps,
  ctx: RequestContext,
  id: string,
  input: RevokeAccessRequest,
): Promise<AccessRequest> {
  const row = await visibleRow(deps, ctx, id);
  const resolved = await deps.resources.resolve(scopeOfRow(row));
  const decision = await enforceWithDuration(
    deps.gate,
    ctx,
    {
      action: 'access:revoke',
      resource: resolved.entity,
      context: { requester: userUid(row.requester), reason: row.reason },
    },
    scopeOfRow(row),
    null,
  );
  const status = statusOf(row, deps.clock.now().toISOString());
  if (status === 'expired') {
    throw new IdpError(
      'ACCESS_REQUEST_EXPIRED',
      `access request ${id} already ended at ${row.expires_at ?? row.pending_until}; there is nothing to revoke`,
      { id },
    );
  }
  if (status !== 'approved' && status !== 'pending') {
    throw new IdpError(
      'ACCESS_ALREADY_DECIDED',
      `access request ${id} was already ${status}${row.decided_by && status === 'denied' ? ` by ${row.decided_by}` : ''}${row.revoked_by ? ` by ${row.revoked_by}` : ''}; there is nothing to revoke`,
      { id, status },
    );
  }
  const now = deps.clock.now().toISOString();
  const reason = input.reason?.trim() || null;
  const updated = await transition(
    deps,
    row,
    row.status,
    {
      status: 'revoked',
      revoked_at: now,
      revoked_by: ctx.principal.ref,
      ...(reason && status === 'pending' ? { decision_reason: reason } : {}),
    },
    (trx) =>
      deps.audit.append(
        {
          actor: ctx.principal.ref,
          action: 'access:revoke',
          target: `secret:${row.pattern}`,
          decision: 'allow',
          policyIds: decision.permittedBy,
          requestId: ctx.requestId,
          details: { id: row.id, requester: row.requester, was: status, ...(reason ? { reason } : {}) },
        },
        trx,
      ),
  );
  return requestView(updated, deps.clock.now().toISOString(), deps.directory);
}

/**
 * An environment is being deleted: its pending requests and grants end with it, so a later
 * environment of the same name does not inherit them.
 */
export async function revokeEnvironment(
  deps: Pick<AccessDeps, 'db' | 'audit' | 'clock'>,
  env: string,
  actor: string,
  requestId: string,
): Promise<number> {
  const now = deps.clock.now().toISOString();
  return deps.db.transaction().execute(async (trx) => {
    const r = await trx
      .updateTable('access_requests')
      .set({ status: 'revoked', revoked_at: now, revoked_by: actor, decision_reason: 'environment deleted' })
      .where('env', '=', env)
      .where('status', 'in', ['pending', 'approved'])
      .executeTakeFirst();
    const n = Number(r.numUpdatedRows ?? 0);
    if (n > 0) {
      await deps.audit.append(
        {
          actor,
          action: 'access:revoke',
          target: `secret:${env}/*/*`,
          decision: 'allow',
          requestId,
          details: { env, revoked: n, reason: 'environment deleted' },
        },
        trx,
      );
    }
    return n;
  });
}
