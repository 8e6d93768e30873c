import type {
  AccessListQuery,
  AccessRequest,
  AccessStats,
  ApproveAccessRequest,
  CreateAccessRequest,
  DenyAccessRequest,
  RevokeAccessRequest,
} from '@idp/contracts';
import type { RequestContext } from '../../auth/context.ts';
import type { GrantLookup, GrantMatch } from '../secrets/grants.ts';
import { createRequest } from './create.ts';
import { approveRequest, denyRequest } from './decisions.ts';
import type { AccessDeps } from './deps.ts';
import { AccessGrants } from './grants.ts';
import { getRequest, listRequests, requestStats } from './listing.ts';
import { revokeEnvironment, revokeRequest } from './revoke.ts';
import { AccessSweeper } from './sweeper.ts';

export { SYSTEM_ACTOR } from './sweeper.ts';
export type { AccessDeps, AccessSettings } from './deps.ts';

/**
 * Access requests without tickets: a request by the owning team is granted at once by rule
 * (a Cedar policy, named in the answer); anyone else's waits for the owning team (or a platform
 * admin), who is notified through the webhook. Every grant ends by itself: reads check the time
 * (grants.ts), and a sweeper marks ended grants expired and audits it (sweeper.ts).
 *
 * The operations live beside it by concern: creating a request (create.ts), deciding it
 * (decisions.ts), revoking (revoke.ts), reading and stats (listing.ts), who sees and decides a
 * request (visibility.ts) and the guarded state change (transition.ts).
 */
export class AccessService implements GrantLookup {
  private readonly grants: AccessGrants;
  private readonly sweeper: AccessSweeper;

  constructor(private readonly deps: AccessDeps) {
    this.grants = new AccessGrants(deps);
    this.sweeper = new AccessSweeper({
      db: deps.db,
      audit: deps.audit,
      clock: deps.clock,
      interval: deps.settings.sweepInterval,
      log: deps.log ?? (() => {}),
    });
  }

  // --- lifecycle -------------------------------------------------------------------------

  /** Starts the expiry sweeper; `stop` (called by the server's close) ends it. */
  start(opts: { timer?: boolean } = {}): void {
    if (opts.timer === false) return;
    this.sweeper.start();
  }
  /**
   * An environment is being deleted: its pending requests and grants end with it, so a later
   * environment of the same name does not inherit them.
   */
  revokeEnvironment(env: string, actor: string, requestId: string): Promise<number> {
    return revokeEnvironment(this.deps, env, actor, requestId);
  }

  async stop(): Promise<void> {
    await this.sweeper.stop();
    await this.deps.notifier.close();
  }

  // --- GrantLookup (for secrets) ---------------------------------------------------------

  grantFor(principalRef: string, env: string, service: string, key: string): Promise<GrantMatch> {
    return this.grants.grantFor(principalRef, env, service, key);
  }

  isActive(grantId: string): Promise<boolean> {
    return this.grants.isActive(grantId);
  }

  // --- requests --------------------------------------------------------------------------

  request(ctx: RequestContext, input: CreateAccessRequest): Promise<AccessRequest> {
    return createRequest(this.deps, ctx, input);
  }

  list(ctx: RequestContext, q: AccessListQuery): Promise<AccessRequest[]> {
    return listRequests(this.deps, ctx, q);
  }

  get(ctx: RequestContext, id: string): Promise<AccessRequest> {
    return getRequest(this.deps, ctx, id);
  }

  approve(ctx: RequestContext, id: string, input: ApproveAccessRequest): Promise<AccessRequest> {
    return approveRequest(this.deps, ctx, id, input);
  }

  deny(ctx: RequestContext, id: string, input: DenyAccessRequest): Promise<AccessRequest> {
    return denyRequest(this.deps, ctx, id, input);
  }

  /** Ends an active grant early, or withdraws a pending request. */
  revoke(ctx: RequestContext, id: string, input: RevokeAccessRequest): Promise<AccessRequest> {
    return revokeRequest(this.deps, ctx, id, input);
  }

  stats(ctx: RequestContext, since?: string): Promise<AccessStats> {
    return requestStats(this.deps, ctx, since);
  }

  /** One expiry pass (see AccessSweeper). */
  sweep(): Promise<number> {
    return this.sweeper.sweep();
  }
}
