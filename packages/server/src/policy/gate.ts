import { IdpError } from '@idp/contracts';
import { formatUid, type CedarEntity, type CedarUid, type Decision, type PolicyEngine } from '@idp/core';
import type { AuditLog } from '../audit/index.ts';
import type { Directory } from '../identity/index.ts';
import type { RequestContext } from '../auth/context.ts';

export interface GateRequest {
  action: string;
  /** The resource with the attributes policies may read (owner, tier, …). */
  resource: CedarEntity;
  /** Extra entities the decision needs beyond the principal, its groups and the resource. */
  entities?: CedarEntity[];
  context?: Record<string, unknown>;
}

/**
 * The one door every mutating service call goes through: Cedar decides, and a denial is
 * audited and thrown as POLICY_DENIED. Allowed actions are audited by the service itself, in the
 * same transaction as the change they made.
 */
export class PolicyGate {
  constructor(
    readonly engine: PolicyEngine,
    private readonly directory: Directory,
    private readonly audit: AuditLog,
  ) {}

  /** Decides without side effects: for filtering lists and for `policy:check`. */
  decide(principalRef: string, req: GateRequest): Decision {
    const principal = this.directory.userEntity(principalRef);
    return this.engine.authorize({
      principal: principal.uid,
      action: req.action,
      resource: req.resource.uid,
      context: req.context ?? {},
      entities: [principal, ...this.directory.groupEntities(), req.resource, ...(req.entities ?? [])],
    });
  }

  /** Throws POLICY_DENIED (and audits it) unless the policies permit; returns the decision. */
  async enforce(ctx: RequestContext, req: GateRequest): Promise<Decision> {
    const decision = this.decide(ctx.principal.ref, req);
    if (decision.decision === 'allow') return decision;
    const target = targetOf(req.resource.uid);
    await this.audit.append({
      actor: ctx.principal.ref,
      action: req.action,
      target,
      decision: 'deny',
      policyIds: decision.forbiddenBy,
      requestId: ctx.requestId,
      details: { reason: decision.reason, ...(decision.errors.length ? { errors: decision.errors } : {}) },
    });
    throw new IdpError('POLICY_DENIED', `${req.action} on ${target} denied: ${decision.reason}`, {
      action: req.action,
      resource: target,
      reason: decision.reason,
      forbiddenBy: decision.forbiddenBy,
      hint: `Run \`idp policy:check --principal ${ctx.principal.ref} --action ${req.action} --resource ${target}\` to see the decision, or ask your platform team.`,
    });
  }
}

/** `Environment::"staging"` → `environment:staging`, the form the CLI and audit log use. */
export function targetOf(uid: CedarUid): string {
  return `${uid.type.toLowerCase()}:${uid.id}`;
}

export const PLATFORM: CedarEntity = { uid: { type: 'Platform', id: 'idp' }, attrs: {}, parents: [] };

export { formatUid };
