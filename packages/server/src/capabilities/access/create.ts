// Creating an access request: the owning team's is approved at once by rule, anyone else's waits and the approvers are notified.
import { IdpError, type AccessRequest, type CreateAccessRequest } from '@idp/contracts';
import { parseDuration } from '@idp/core';
import type { RequestContext } from '../../auth/context.ts';
import { parseSecretPattern } from '../secrets/paths.ts';
import type { AccessDeps } from './deps.ts';
import { enforceWithDuration } from './duration-limit.ts';
import { pendingMessage } from './messages.ts';
import { requestView, ruleOf, type RequestRow as Row } from './requests.ts';

export async function createRequest(
  deps: AccessDeps,
  ctx: RequestContext,
  input: CreateAccessRequest,
): Promise<AccessRequest> {
  const scope = parseSecretPattern(input.secret, 'secret');
  const reason = input.reason.trim();
  if (!reason)
    throw new IdpError('VALIDATION_FAILED', 'reason: a reason is required', {
      field: 'reason',
      hint: 'Say why, e.g. --reason "INC-123: refund failures".',
    });
  const durationSeconds = parseDuration(input.duration ?? deps.settings.defaultDuration, 'duration');
  const resolved = await deps.resources.resolve(scope);
  const context = { durationSeconds, reason };
  const decision = await enforceWithDuration(
    deps.gate,
    ctx,
    { action: 'access:request', resource: resolved.entity, context },
    scope,
    durationSeconds,
  );
  const auto = deps.gate.decide(ctx.principal.ref, {
    action: 'access:auto-approve',
    resource: resolved.entity,
    context,
  });
  const approved = auto.decision === 'allow';
  const now = deps.clock.now();
  const iso = now.toISOString();
  const row: Row = {
    id: deps.ids.next('acc'),
    requester: ctx.principal.ref,
    pattern: scope.path,
    env: scope.env,
    service: scope.service,
    key_pattern: scope.key,
    owner: resolved.owner,
    reason,
    duration_seconds: durationSeconds,
    status: approved ? 'approved' : 'pending',
    auto_approved: approved ? 1 : 0,
    created_at: iso,
    pending_until: approved
      ? null
      : new Date(now.getTime() + parseDuration(deps.settings.pendingTtl, 'access.pendingTtl') * 1000).toISOString(),
    decided_at: approved ? iso : null,
    decided_by: approved ? `policy:${ruleOf(auto)[0]}` : null,
    rule: JSON.stringify(approved ? ruleOf(auto) : []),
    decision_reason: approved ? `approved by rule ${ruleOf(auto).join(', ')}` : null,
    expires_at: approved ? new Date(now.getTime() + durationSeconds * 1000).toISOString() : null,
    revoked_at: null,
    revoked_by: null,
  };
  await deps.db.transaction().execute(async (trx) => {
    await trx.insertInto('access_requests').values(row).execute();
    await deps.audit.append(
      {
        actor: ctx.principal.ref,
        action: 'access:request',
        target: `secret:${scope.path}`,
        decision: 'allow',
        policyIds: decision.permittedBy,
        requestId: ctx.requestId,
        details: { id: row.id, reason, durationSeconds, outcome: row.status },
      },
      trx,
    );
    if (approved) {
      await deps.audit.append(
        {
          actor: ctx.principal.ref,
          action: 'access:approve',
          target: `secret:${scope.path}`,
          decision: 'allow',
          policyIds: ruleOf(auto),
          requestId: ctx.requestId,
          details: { id: row.id, by: 'policy', rule: ruleOf(auto), reason, expiresAt: row.expires_at },
        },
        trx,
      );
    }
  });
  const view = requestView(row, deps.clock.now().toISOString(), deps.directory);
  if (!approved) deps.notifier.notify(pendingMessage(view, deps.directory));
  return view;
}
