import { IdpError } from '@idp/contracts';
import { formatDuration, type Decision } from '@idp/core';
import type { RequestContext } from '../../auth/context.ts';
import type { GateRequest, PolicyGate } from '../../policy/gate.ts';
import type { SecretScope } from '../secrets/resources.ts';

/**
 * Like gate.enforce, but a denial caused by the duration alone becomes ACCESS_DURATION_TOO_LONG
 * naming the maximum the policies allow (found by asking them) and the policy that set it.
 */
export async function enforceWithDuration(
  gate: PolicyGate,
  ctx: RequestContext,
  req: GateRequest,
  scope: SecretScope,
  durationSeconds: number | null,
): Promise<Decision> {
  const decision = gate.decide(ctx.principal.ref, req);
  if (decision.decision === 'allow') return decision;
  const max = durationSeconds === null ? null : maxDuration(gate, ctx.principal.ref, req, durationSeconds);
  if (max === null) return gate.enforce(ctx, req);
  return gate.refuse(
    ctx,
    req,
    decision,
    new IdpError(
      'ACCESS_DURATION_TOO_LONG',
      `duration ${formatDuration(durationSeconds!)} is above the maximum of ${formatDuration(max)} for ${scope.path} (policy ${decision.forbiddenBy.join(', ')})`,
      {
        field: 'duration',
        durationSeconds,
        maxSeconds: max,
        forbiddenBy: decision.forbiddenBy,
        hint: `Ask for ${formatDuration(max)} or less, e.g. --duration ${formatDuration(max)}.`,
      },
    ),
    { durationSeconds, maxSeconds: max },
  );
}

/** The longest duration the policies allow for this request, or null when the duration is not why it was denied. */
export function maxDuration(gate: PolicyGate, principal: string, req: GateRequest, asked: number): number | null {
  const allows = (s: number) =>
    gate.decide(principal, { ...req, context: { ...req.context, durationSeconds: s } }).decision === 'allow';
  if (!allows(1)) return null;
  let lo = 1;
  let hi = asked;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (allows(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}
