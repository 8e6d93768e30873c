// Deciding a pending access request: approving or denying it, never one's own, with the decision audited and announced.
import { IdpError, type AccessRequest, type ApproveAccessRequest, type DenyAccessRequest } from '@idp/contracts';
import { parseDuration } from '@idp/core';
import type { RequestContext } from '../../auth/context.ts';
import { userUid } from '../../identity/index.ts';
import type { AccessDeps } from './deps.ts';
import { enforceWithDuration } from './duration-limit.ts';
import { decisionMessage } from './messages.ts';
import { requestView, scopeOfRow, type RequestRow as Row } from './requests.ts';
import { assertPending, transition } from './transition.ts';
import { visibleRow } from './visibility.ts';

export async function approveRequest(
  deps: AccessDeps,
  ctx: RequestContext,
  id: string,
  input: ApproveAccessRequest,
): Promise<AccessRequest> {
  const row = await visibleRow(deps, ctx, id);
  await refuseSelf(deps, ctx, row, 'approve');
  const durationSeconds =
    input.duration !== undefined ? parseDuration(input.duration, 'duration') : Number(row.duration_seconds);
  const resolved = await deps.resources.resolve(scopeOfRow(row));
  const decision = await enforceWithDuration(
    deps.gate,
    ctx,
    {
      action: 'access:approve',
      resource: resolved.entity,
      context: { durationSeconds, requester: userUid(row.requester), reason: row.reason },
    },
    scopeOfRow(row),
    durationSeconds,
  );
  assertPending(row, 'approve', deps.clock.now().toISOString());
  const now = deps.clock.now();
  const changes = {
    status: 'approved' as const,
    decided_at: now.toISOString(),
    decided_by: ctx.principal.ref,
    rule: JSON.stringify(decision.permittedBy),
    decision_reason: input.reason?.trim() || null,
    duration_seconds: durationSeconds,
    expires_at: new Date(now.getTime() + durationSeconds * 1000).toISOString(),
  };
  const updated = await transition(deps, row, 'pending', changes, (trx, next) =>
    deps.audit.append(
      {
        actor: ctx.principal.ref,
        action: 'access:approve',
        target: `secret:${row.pattern}`,
        decision: 'allow',
        policyIds: decision.permittedBy,
        requestId: ctx.requestId,
        details: {
          id: row.id,
          requester: row.requester,
          by: 'person',
          durationSeconds,
          expiresAt: next.expires_at,
          ...(changes.decision_reason ? { reason: changes.decision_reason } : {}),
        },
      },
      trx,
    ),
  );
  const view = requestView(updated, deps.clock.now().toISOString(), deps.directory);
  deps.notifier.notify(decisionMessage(view, 'approved'));
  return view;
}

export async function denyRequest(
  deps: AccessDeps,
  ctx: RequestContext,
  id: string,
  input: DenyAccessRequest,
): Promise<AccessRequest> {
  const reason = input.reason.trim();
  if (!reason) throw new IdpError('VALIDATION_FAILED', 'reason: a reason is required', { field: 'reason' });
  const row = await visibleRow(deps, ctx, id);
  await refuseSelf(deps, ctx, row, 'deny');
  const resolved = await deps.resources.resolve(scopeOfRow(row));
  const decision = await enforceWithDuration(
    deps.gate,
    ctx,
    {
      action: 'access:approve',
      resource: resolved.entity,
      context: { requester: userUid(row.requester), reason: row.reason },
    },
    scopeOfRow(row),
    null,
  );
  assertPending(row, 'deny', deps.clock.now().toISOString());
  const changes = {
    status: 'denied' as const,
    decided_at: deps.clock.now().toISOString(),
    decided_by: ctx.principal.ref,
    rule: JSON.stringify(decision.permittedBy),
    decision_reason: reason,
  };
  const updated = await transition(deps, row, 'pending', changes, (trx) =>
    deps.audit.append(
      {
        actor: ctx.principal.ref,
        action: 'access:deny',
        target: `secret:${row.pattern}`,
        decision: 'allow',
        policyIds: decision.permittedBy,
        requestId: ctx.requestId,
        details: { id: row.id, requester: row.requester, reason },
      },
      trx,
    ),
  );
  const view = requestView(updated, deps.clock.now().toISOString(), deps.directory);
  deps.notifier.notify(decisionMessage(view, 'denied'));
  return view;
}

/** A requester cannot decide their own request: the attempt is audited as denied and refused. */
async function refuseSelf(deps: AccessDeps, ctx: RequestContext, row: Row, verb: 'approve' | 'deny'): Promise<void> {
  if (row.requester !== ctx.principal.ref) return;
  await deps.audit.append({
    actor: ctx.principal.ref,
    action: verb === 'approve' ? 'access:approve' : 'access:deny',
    target: `secret:${row.pattern}`,
    decision: 'deny',
    requestId: ctx.requestId,
    details: { id: row.id, reason: 'self-approval' },
  });
  throw new IdpError('ACCESS_SELF_APPROVAL', `you cannot ${verb} your own access request ${row.id}`, {
    id: row.id,
    hint: `Ask ${row.owner ? `a member of ${row.owner}` : 'a platform admin'} (\`idp access:list\` shows the approvers).`,
  });
}
