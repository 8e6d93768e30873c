import type { Kysely, Transaction } from 'kysely';
import {
  IdpError,
  type AccessListQuery,
  type AccessRequest,
  type AccessStats,
  type AccessStatus,
  type ApproveAccessRequest,
  type CreateAccessRequest,
  type DenyAccessRequest,
  type RevokeAccessRequest,
} from '@idp/contracts';
import { parseDuration, type Decision } from '@idp/core';
import type { AuditLog } from '../../audit/index.ts';
import type { RequestContext } from '../../auth/context.ts';
import type { Clock, IdSource } from '../../clock.ts';
import { userUid, type Directory } from '../../identity/index.ts';
import type { GateRequest, PolicyGate } from '../../policy/gate.ts';
import type { Database } from '../../store/index.ts';
import { parseSecretPattern } from '../secrets/paths.ts';
import type { GrantLookup, GrantMatch } from '../secrets/grants.ts';
import type { ResolvedSecret, SecretResources, SecretScope } from '../secrets/resources.ts';
import { enforceWithDuration } from './duration-limit.ts';
import { AccessGrants } from './grants.ts';
import { decisionMessage, pendingMessage } from './messages.ts';
import type { WebhookNotifier } from './notifier.ts';
import { requestView, ruleOf, scopeOfRow, statusOf, type RequestRow as Row } from './requests.ts';
import { accessStats } from './stats.ts';
import { AccessSweeper } from './sweeper.ts';

export { SYSTEM_ACTOR } from './sweeper.ts';

export interface AccessSettings {
  pendingTtl: string;
  defaultDuration: string;
  sweepInterval: string;
}

export interface AccessDeps {
  db: Kysely<Database>;
  audit: AuditLog;
  gate: PolicyGate;
  directory: Directory;
  clock: Clock;
  ids: IdSource;
  resources: SecretResources;
  notifier: WebhookNotifier;
  settings: AccessSettings;
  log?: (line: string) => void;
}

const LIST_SCAN_LIMIT = 5000;

/**
 * Access requests without tickets: a request by the owning team is granted at once by rule
 * (a Cedar policy, named in the answer); anyone else's waits for the owning team (or a platform
 * admin), who is notified through the webhook. Every grant ends by itself: reads check the time
 * (grants.ts), and a sweeper marks ended grants expired and audits it (sweeper.ts).
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
  async revokeEnvironment(env: string, actor: string, requestId: string): Promise<number> {
    const now = this.deps.clock.now().toISOString();
    return this.deps.db.transaction().execute(async (trx) => {
      const r = await trx
        .updateTable('access_requests')
        .set({ status: 'revoked', revoked_at: now, revoked_by: actor, decision_reason: 'environment deleted' })
        .where('env', '=', env)
        .where('status', 'in', ['pending', 'approved'])
        .executeTakeFirst();
      const n = Number(r.numUpdatedRows ?? 0);
      if (n > 0) {
        await this.deps.audit.append(
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

  async request(ctx: RequestContext, input: CreateAccessRequest): Promise<AccessRequest> {
    const scope = parseSecretPattern(input.secret, 'secret');
    const reason = input.reason.trim();
    if (!reason)
      throw new IdpError('VALIDATION_FAILED', 'reason: a reason is required', {
        field: 'reason',
        hint: 'Say why, e.g. --reason "INC-123: refund failures".',
      });
    const durationSeconds = parseDuration(input.duration ?? this.deps.settings.defaultDuration, 'duration');
    const resolved = await this.deps.resources.resolve(scope);
    const context = { durationSeconds, reason };
    const decision = await this.enforce(
      ctx,
      { action: 'access:request', resource: resolved.entity, context },
      scope,
      durationSeconds,
    );
    const auto = this.deps.gate.decide(ctx.principal.ref, {
      action: 'access:auto-approve',
      resource: resolved.entity,
      context,
    });
    const approved = auto.decision === 'allow';
    const now = this.deps.clock.now();
    const iso = now.toISOString();
    const row: Row = {
      id: this.deps.ids.next('acc'),
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
        : new Date(
            now.getTime() + parseDuration(this.deps.settings.pendingTtl, 'access.pendingTtl') * 1000,
          ).toISOString(),
      decided_at: approved ? iso : null,
      decided_by: approved ? `policy:${ruleOf(auto)[0]}` : null,
      rule: JSON.stringify(approved ? ruleOf(auto) : []),
      decision_reason: approved ? `approved by rule ${ruleOf(auto).join(', ')}` : null,
      expires_at: approved ? new Date(now.getTime() + durationSeconds * 1000).toISOString() : null,
      revoked_at: null,
      revoked_by: null,
    };
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.insertInto('access_requests').values(row).execute();
      await this.deps.audit.append(
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
        await this.deps.audit.append(
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
    const view = this.view(row);
    if (!approved) this.deps.notifier.notify(pendingMessage(view, this.deps.directory));
    return view;
  }

  async list(ctx: RequestContext, q: AccessListQuery): Promise<AccessRequest[]> {
    const me = ctx.principal.ref;
    let query = this.deps.db
      .selectFrom('access_requests')
      .selectAll()
      .orderBy('created_at', 'desc')
      .limit(LIST_SCAN_LIMIT);
    if (q.pending === 'true' || q.toReview === 'true') query = query.where('status', '=', 'pending');
    if (q.mine === 'true') query = query.where('requester', '=', me);
    const rows = await query.execute();
    const resolve = this.deps.resources.cached();
    const out: AccessRequest[] = [];
    for (const row of rows) {
      const view = this.view(row);
      if ((q.pending === 'true' || q.toReview === 'true') && view.status !== 'pending') continue;
      const mayDecide = row.requester !== me && (await this.mayDecide(me, row, resolve));
      if (q.toReview === 'true' && !mayDecide) continue;
      if (row.requester !== me && !mayDecide) continue;
      out.push(view);
      if (out.length >= (q.limit ?? 200)) break;
    }
    return out;
  }

  async get(ctx: RequestContext, id: string): Promise<AccessRequest> {
    return this.view(await this.visibleRow(ctx, id));
  }

  async approve(ctx: RequestContext, id: string, input: ApproveAccessRequest): Promise<AccessRequest> {
    const row = await this.visibleRow(ctx, id);
    await this.refuseSelf(ctx, row, 'approve');
    const durationSeconds =
      input.duration !== undefined ? parseDuration(input.duration, 'duration') : Number(row.duration_seconds);
    const resolved = await this.resolveRow(row);
    const decision = await this.enforce(
      ctx,
      {
        action: 'access:approve',
        resource: resolved.entity,
        context: { durationSeconds, requester: userUid(row.requester), reason: row.reason },
      },
      scopeOfRow(row),
      durationSeconds,
    );
    this.assertPending(row, 'approve');
    const now = this.deps.clock.now();
    const changes = {
      status: 'approved' as const,
      decided_at: now.toISOString(),
      decided_by: ctx.principal.ref,
      rule: JSON.stringify(decision.permittedBy),
      decision_reason: input.reason?.trim() || null,
      duration_seconds: durationSeconds,
      expires_at: new Date(now.getTime() + durationSeconds * 1000).toISOString(),
    };
    const updated = await this.transition(row, 'pending', changes, (trx, next) =>
      this.deps.audit.append(
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
    const view = this.view(updated);
    this.deps.notifier.notify(decisionMessage(view, 'approved'));
    return view;
  }

  async deny(ctx: RequestContext, id: string, input: DenyAccessRequest): Promise<AccessRequest> {
    const reason = input.reason.trim();
    if (!reason) throw new IdpError('VALIDATION_FAILED', 'reason: a reason is required', { field: 'reason' });
    const row = await this.visibleRow(ctx, id);
    await this.refuseSelf(ctx, row, 'deny');
    const resolved = await this.resolveRow(row);
    const decision = await this.enforce(
      ctx,
      {
        action: 'access:approve',
        resource: resolved.entity,
        context: { requester: userUid(row.requester), reason: row.reason },
      },
      scopeOfRow(row),
      null,
    );
    this.assertPending(row, 'deny');
    const changes = {
      status: 'denied' as const,
      decided_at: this.now(),
      decided_by: ctx.principal.ref,
      rule: JSON.stringify(decision.permittedBy),
      decision_reason: reason,
    };
    const updated = await this.transition(row, 'pending', changes, (trx) =>
      this.deps.audit.append(
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
    const view = this.view(updated);
    this.deps.notifier.notify(decisionMessage(view, 'denied'));
    return view;
  }

  /** Ends an active grant early, or withdraws a pending request. */
  async revoke(ctx: RequestContext, id: string, input: RevokeAccessRequest): Promise<AccessRequest> {
    const row = await this.visibleRow(ctx, id);
    const resolved = await this.resolveRow(row);
    const decision = await this.enforce(
      ctx,
      {
        action: 'access:revoke',
        resource: resolved.entity,
        context: { requester: userUid(row.requester), reason: row.reason },
      },
      scopeOfRow(row),
      null,
    );
    const status = this.statusOf(row);
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
    const now = this.now();
    const reason = input.reason?.trim() || null;
    const updated = await this.transition(
      row,
      row.status,
      {
        status: 'revoked',
        revoked_at: now,
        revoked_by: ctx.principal.ref,
        ...(reason && status === 'pending' ? { decision_reason: reason } : {}),
      },
      (trx) =>
        this.deps.audit.append(
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
    return this.view(updated);
  }

  async stats(ctx: RequestContext, since?: string): Promise<AccessStats> {
    const sinceIso = since
      ? new Date(this.deps.clock.now().getTime() - parseDuration(since, 'since') * 1000).toISOString()
      : null;
    let query = this.deps.db.selectFrom('access_requests').selectAll().orderBy('created_at', 'desc').limit(100_000);
    if (sinceIso) query = query.where('created_at', '>=', sinceIso);
    const rows = await query.execute();
    const resolve = this.deps.resources.cached();
    const visible: Row[] = [];
    const all = ctx.principal.roles.includes('admin');
    for (const row of rows) {
      if (all || row.requester === ctx.principal.ref || (await this.mayDecide(ctx.principal.ref, row, resolve)))
        visible.push(row);
    }
    return accessStats(
      visible.map((r) => ({
        status: this.statusOf(r),
        autoApproved: r.auto_approved === 1 || Number(r.auto_approved) === 1,
        createdAt: r.created_at,
        decidedAt: r.decided_at,
      })),
      sinceIso,
    );
  }

  /** One expiry pass (see AccessSweeper). */
  sweep(): Promise<number> {
    return this.sweeper.sweep();
  }

  // --- helpers ---------------------------------------------------------------------------

  private now(): string {
    return this.deps.clock.now().toISOString();
  }

  /** The status as of now (see requests.ts). */
  private statusOf(row: Row): AccessStatus {
    return statusOf(row, this.now());
  }

  private view(row: Row): AccessRequest {
    return requestView(row, this.now(), this.deps.directory);
  }

  private enforce(
    ctx: RequestContext,
    req: GateRequest,
    scope: SecretScope,
    durationSeconds: number | null,
  ): Promise<Decision> {
    return enforceWithDuration(this.deps.gate, ctx, req, scope, durationSeconds);
  }

  private async resolveRow(row: Row): Promise<ResolvedSecret> {
    return this.deps.resources.resolve(scopeOfRow(row));
  }

  private async mayDecide(
    me: string,
    row: Row,
    resolve: (s: SecretScope) => Promise<ResolvedSecret | null>,
  ): Promise<boolean> {
    const resolved = await resolve(scopeOfRow(row));
    if (!resolved) return false;
    return (
      this.deps.gate.decide(me, {
        action: 'access:approve',
        resource: resolved.entity,
        context: { requester: userUid(row.requester) },
      }).decision === 'allow'
    );
  }

  /** Requests are visible to their requester and to those who may decide them; others get "not found". */
  private async visibleRow(ctx: RequestContext, id: string): Promise<Row> {
    const row = await this.deps.db.selectFrom('access_requests').selectAll().where('id', '=', id).executeTakeFirst();
    if (
      row &&
      (row.requester === ctx.principal.ref ||
        (await this.mayDecide(ctx.principal.ref, row, this.deps.resources.cached())))
    )
      return row;
    throw new IdpError('ACCESS_REQUEST_NOT_FOUND', `no access request ${id}`, { field: 'id', id });
  }

  private async refuseSelf(ctx: RequestContext, row: Row, verb: 'approve' | 'deny'): Promise<void> {
    if (row.requester !== ctx.principal.ref) return;
    await this.deps.audit.append({
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

  private assertPending(row: Row, verb: 'approve' | 'deny'): void {
    const status = this.statusOf(row);
    if (status === 'pending') return;
    if (status === 'expired') {
      const when =
        row.status === 'pending' || !row.expires_at
          ? `the request expired at ${row.pending_until} before anyone decided`
          : `its grant already ended at ${row.expires_at}`;
      throw new IdpError('ACCESS_REQUEST_EXPIRED', `cannot ${verb} access request ${row.id}: ${when}`, {
        id: row.id,
        status,
      });
    }
    const by = status === 'revoked' ? row.revoked_by : row.decided_by;
    throw new IdpError(
      'ACCESS_ALREADY_DECIDED',
      `cannot ${verb} access request ${row.id}: it was already ${status}${by ? ` by ${by}` : ''}${row.decided_at && status !== 'revoked' ? ` at ${row.decided_at}` : ''}`,
      {
        id: row.id,
        status,
        hint:
          status === 'approved'
            ? `To end the grant early: idp access:revoke ${row.id}`
            : 'Run `idp access:list` to see its state.',
      },
    );
  }

  /** Applies a state change only if nobody changed the row meanwhile, with its audit record in the same transaction. */
  private async transition(
    row: Row,
    from: AccessStatus,
    changes: Partial<Row>,
    audit: (trx: Transaction<Database>, next: Row) => Promise<unknown>,
  ): Promise<Row> {
    const next = { ...row, ...changes } as Row;
    const ok = await this.deps.db.transaction().execute(async (trx) => {
      const res = await trx
        .updateTable('access_requests')
        .set(changes)
        .where('id', '=', row.id)
        .where('status', '=', from)
        .executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return false;
      await audit(trx, next);
      return true;
    });
    if (!ok) {
      const fresh = await this.deps.db
        .selectFrom('access_requests')
        .selectAll()
        .where('id', '=', row.id)
        .executeTakeFirstOrThrow();
      throw new IdpError(
        'ACCESS_ALREADY_DECIDED',
        `access request ${row.id} was ${this.statusOf(fresh)} by ${fresh.revoked_by ?? fresh.decided_by ?? 'the control plane'} at the same moment`,
        { id: row.id, status: this.statusOf(fresh) },
      );
    }
    return next;
  }
}
