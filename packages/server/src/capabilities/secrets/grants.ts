import { IdpError } from '@idp/contracts';
import type { Decision } from '@idp/core';
import type { AuditLog } from '../../audit/index.ts';
import type { RequestContext } from '../../auth/context.ts';
import type { PolicyGate } from '../../policy/gate.ts';
import type { ResolvedSecret, SecretScope } from './resources.ts';

export interface GrantInfo {
  id: string;
  expiresAt: string;
  reason: string;
}

/** The caller's grant covering a path: the active one, else the one that ended most recently. */
export interface GrantMatch {
  active: GrantInfo | null;
  ended: GrantInfo | null;
}

/** What secrets needs from access: the caller's grants. Implemented by AccessService. */
export interface GrantLookup {
  /**
   * The principal's active grant covering `key` of env/service (`*`: the whole service), and
   * when there is none, the grant covering it that ended by time most recently (for ACCESS_EXPIRED).
   */
  grantFor(principalRef: string, env: string, service: string, key: string): Promise<GrantMatch>;
  /** Whether a grant is still approved and unexpired (workload tokens bound to one end with it). */
  isActive(grantId: string): Promise<boolean>;
}

/**
 * Decides with the caller's grant in the context; a denial is audited, and is ACCESS_EXPIRED
 * when a grant that would have allowed it has ended.
 */
export async function authorizeWithGrant(
  deps: { gate: PolicyGate; audit: AuditLog },
  ctx: RequestContext,
  action: string,
  resolved: ResolvedSecret,
  scope: SecretScope,
  grant: GrantMatch,
  extra: Record<string, unknown>,
): Promise<Decision> {
  const req = { action, resource: resolved.entity, context: { ...extra, hasGrant: grant.active !== null } };
  const decision = deps.gate.decide(ctx.principal.ref, req);
  if (decision.decision === 'allow') return decision;
  const target = `secret:${scope.path}`;
  const grantWouldAllow =
    deps.gate.decide(ctx.principal.ref, { ...req, context: { ...extra, hasGrant: true } }).decision === 'allow';
  const expired = !grant.active && grant.ended && grantWouldAllow ? grant.ended : null;
  await deps.audit.append({
    actor: ctx.principal.ref,
    action,
    target,
    decision: 'deny',
    policyIds: decision.forbiddenBy,
    requestId: ctx.requestId,
    details: {
      reason: decision.reason,
      ...(expired ? { expiredGrant: expired.id, expiredAt: expired.expiresAt } : {}),
      ...(decision.errors.length ? { errors: decision.errors } : {}),
    },
  });
  if (expired) {
    throw new IdpError(
      'ACCESS_EXPIRED',
      `your access grant ${expired.id} for ${scope.path} ended at ${expired.expiresAt}`,
      {
        path: scope.path,
        grant: expired.id,
        expiredAt: expired.expiresAt,
        hint: `Ask again: idp access:request --secret=${scope.path} --reason="…" --duration=1h`,
      },
    );
  }
  const hint = grantWouldAllow
    ? `This needs an access grant: idp access:request --secret=${scope.path} --reason="…" --duration=1h (the owning team is approved at once).`
    : `Run \`${deps.gate.checkCommand(ctx.principal.ref, req)}\` to see the decision, or ask the owning team.`;
  throw new IdpError('POLICY_DENIED', `${action} on ${target} denied: ${decision.reason}`, {
    action,
    resource: target,
    reason: decision.reason,
    forbiddenBy: decision.forbiddenBy,
    hint,
  });
}
