import { IdpError } from '@idp/contracts';
import {
  formatUid,
  policyCheckCommand,
  type CedarEntity,
  type CedarUid,
  type Decision,
  type PolicyEngine,
} from '@idp/core';
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
  /**
   * What `idp policy:check` needs beyond the context to build this resource as the real check did,
   * when the resource does not exist yet (env:create's `from`). Shown in a denial's hint only.
   */
  checkInputs?: Record<string, unknown>;
}

/** The question policy:check asks a resolver: who, doing what, with which request context. */
export interface CheckQuestion {
  principalRef: string;
  action: string;
  context: Record<string, unknown>;
}

/**
 * The one door every mutating service call goes through: Cedar decides, and a denial is
 * audited and thrown as POLICY_DENIED. Allowed actions are audited by the service itself, in the
 * same transaction as the change they made.
 */
/**
 * Builds a resource's Cedar entity (with the attributes policies read) from its capability's state,
 * for policy:check. With the question, a resolver may build a resource that does not exist yet
 * (the environment env:create would make) and give the context the real check would use.
 */
export type ResourceResolver = (
  id: string,
  question?: CheckQuestion,
) => Promise<{ resource: CedarEntity; related?: CedarEntity[]; context?: Record<string, unknown> } | undefined>;

export class PolicyGate {
  private readonly resolvers = new Map<string, ResourceResolver>();
  /** Told of every decision (the control plane's metrics count them); no side effects on the decision. */
  onDecision: ((action: string, decision: Decision) => void) | undefined;

  constructor(
    readonly engine: PolicyEngine,
    private readonly directory: Directory,
    private readonly audit: AuditLog,
  ) {}

  /** Each capability registers how to load its resource type, so `policy:check` sees real attributes. */
  registerResolver(type: string, resolver: ResourceResolver): void {
    this.resolvers.set(type, resolver);
  }

  /** The resource as the policies will see it; a bare entity when nothing knows the type or id. */
  async resolve(
    uid: CedarUid,
    question?: CheckQuestion,
  ): Promise<{ resource: CedarEntity; related: CedarEntity[]; context?: Record<string, unknown>; found: boolean }> {
    if (uid.type === PLATFORM.uid.type && uid.id === PLATFORM.uid.id)
      return { resource: PLATFORM, related: [], found: true };
    const found = await this.resolvers.get(uid.type)?.(uid.id, question);
    if (found)
      return {
        resource: found.resource,
        related: found.related ?? [],
        ...(found.context ? { context: found.context } : {}),
        found: true,
      };
    return { resource: { uid, attrs: {}, parents: [] }, related: [], found: false };
  }

  /** The `idp policy:check` command that asks what this request asked (a denial's hint). */
  checkCommand(principalRef: string, req: GateRequest): string {
    return policyCheckCommand({
      principal: principalRef,
      action: req.action,
      resource: targetOf(req.resource.uid),
      context: { ...req.context, ...req.checkInputs },
    });
  }

  /** Decides without side effects: for filtering lists and for `policy:check`. */
  decide(principalRef: string, req: GateRequest): Decision {
    const principal = this.directory.userEntity(principalRef);
    const decision = this.engine.authorize({
      principal: principal.uid,
      action: req.action,
      resource: req.resource.uid,
      context: req.context ?? {},
      // The principal's entity comes from the directory; a copy among the extras would clash.
      entities: [
        principal,
        ...this.directory.groupEntities(),
        req.resource,
        ...(req.entities ?? []).filter((e) => e.uid.type !== 'User' || e.uid.id !== principal.uid.id),
      ],
    });
    this.onDecision?.(req.action, decision);
    return decision;
  }

  /**
   * Throws POLICY_DENIED (and audits it) unless the policies permit; returns the decision. The
   * hint says how to fix it when `opts.hint` knows (from the policies that forbade it), else how to
   * see the decision with `idp policy:check`.
   */
  async enforce(
    ctx: RequestContext,
    req: GateRequest,
    opts: { hint?: (decision: Decision) => string | undefined } = {},
  ): Promise<Decision> {
    const decision = this.decide(ctx.principal.ref, req);
    if (decision.decision === 'allow') return decision;
    const target = targetOf(req.resource.uid);
    const hint =
      opts.hint?.(decision) ??
      `Run \`${this.checkCommand(ctx.principal.ref, req)}\` to see the decision, or ask your platform team.`;
    return this.refuse(
      ctx,
      req,
      decision,
      new IdpError('POLICY_DENIED', `${req.action} on ${target} denied: ${decision.reason}`, {
        action: req.action,
        resource: target,
        reason: decision.reason,
        forbiddenBy: decision.forbiddenBy,
        hint,
      }),
      decision.errors.length ? { errors: decision.errors } : {},
    );
  }

  /**
   * Audits a denial and throws `error`: POLICY_DENIED from enforce, or a capability's more
   * specific error when it found which limit the policies set (a TTL, a duration, a quota).
   */
  async refuse(
    ctx: RequestContext,
    req: GateRequest,
    decision: Decision,
    error: IdpError,
    details: Record<string, unknown> = {},
  ): Promise<never> {
    await this.audit.append({
      actor: ctx.principal.ref,
      action: req.action,
      target: targetOf(req.resource.uid),
      decision: 'deny',
      policyIds: decision.forbiddenBy,
      requestId: ctx.requestId,
      details: { reason: decision.reason, ...details },
    });
    throw error;
  }
}

/** `Environment::"staging"` → `environment:staging`, the form the CLI and audit log use. */
export function targetOf(uid: CedarUid): string {
  return `${uid.type.toLowerCase()}:${uid.id}`;
}

export const PLATFORM: CedarEntity = { uid: { type: 'Platform', id: 'idp' }, attrs: {}, parents: [] };

export { formatUid };
