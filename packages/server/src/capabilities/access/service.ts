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
import { formatDuration, parseDuration, type Decision } from '@idp/core';
import type { AuditLog } from '../../audit/index.ts';
import type { RequestContext } from '../../auth/context.ts';
import type { Clock, IdSource } from '../../clock.ts';
import { userUid, type Directory } from '../../identity/index.ts';
import type { GateRequest, PolicyGate } from '../../policy/gate.ts';
import type { Database } from '../../store/index.ts';
import { keyCovers, parseSecretPattern } from '../secrets/paths.ts';
import type { ResolvedSecret, SecretResources, SecretScope } from '../secrets/resources.ts';
import type { GrantInfo, GrantLookup } from '../secrets/service.ts';
import type { WebhookNotifier } from './notifier.ts';
import { accessStats } from './stats.ts';

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

type Row = Database['access_requests'];

/** The actor of records the control plane writes on its own (expiry). */
export const SYSTEM_ACTOR = 'system:idp';

const LIST_SCAN_LIMIT = 5000;

/**
 * Access requests without tickets: a request by the owning team is granted at once by rule
 * (a Cedar policy, named in the answer); anyone else's waits for the owning team (or a platform
 * admin), who is notified through the webhook. Every grant ends by itself: reads check the time,
 * and a sweeper marks ended grants expired and audits it.
 */
export class AccessService implements GrantLookup {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<unknown> | null = null;
  private stopped = false;
  private readonly log: (line: string) => void;

  constructor(private readonly deps: AccessDeps) {
    this.log = deps.log ?? (() => {});
  }

  // --- lifecycle -------------------------------------------------------------------------

  /** Starts the expiry sweeper; `stop` (called by the server's close) ends it. */
  start(opts: { timer?: boolean } = {}): void {
    if (opts.timer === false || this.timer || this.stopped) return;
    const ms = parseDuration(this.deps.settings.sweepInterval, 'access.sweepInterval') * 1000;
    this.timer = setInterval(() => {
      if (this.sweeping) return;
      this.sweeping = this.sweep()
        .catch((err) => this.log(`warning: access expiry sweep failed: ${(err as Error).message}`))
        .finally(() => (this.sweeping = null));
    }, ms);
    this.timer.unref();
  }

  /**
   * An environment is being deleted: its pending requests and grants end with it, so a later
   * environment of the same name does not inherit them.
   */
  async revokeEnvironment(env: string, actor: string, requestId: string): Promise<number> {
    const now = this.deps.clock.now().toISOString();
    return this.deps.db.transaction().execute(async (trx) => {
      const r = await trx.updateTable('access_requests')
        .set({ status: 'revoked', revoked_at: now, revoked_by: actor, decision_reason: 'environment deleted' })
        .where('env', '=', env).where('status', 'in', ['pending', 'approved'])
        .executeTakeFirst();
      const n = Number(r.numUpdatedRows ?? 0);
      if (n > 0) {
        await this.deps.audit.append({ actor, action: 'access:revoke', target: `secret:${env}/*/*`, decision: 'allow', requestId, details: { env, revoked: n, reason: 'environment deleted' } }, trx);
      }
      return n;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping?.catch(() => {});
    await this.deps.notifier.close();
  }

  // --- GrantLookup (for secrets) ---------------------------------------------------------

  async grantFor(principalRef: string, env: string, service: string, key: string): Promise<{ active: GrantInfo | null; ended: GrantInfo | null }> {
    const rows = await this.deps.db.selectFrom('access_requests').selectAll()
      .where('requester', '=', principalRef).where('env', '=', env).where('service', '=', service)
      .where('status', 'in', ['approved', 'expired']).where('expires_at', 'is not', null)
      .orderBy('expires_at', 'desc').limit(200).execute();
    const now = this.now();
    let active: GrantInfo | null = null;
    let ended: GrantInfo | null = null;
    for (const r of rows) {
      if (!keyCovers(r.key_pattern, key)) continue;
      const info = { id: r.id, expiresAt: r.expires_at!, reason: r.reason };
      if (r.status === 'approved' && r.expires_at! > now) {
        // The one that lasts longest: a token bound to it lives as long as it can.
        if (!active) active = info;
      } else if (!ended) ended = info;
    }
    return { active, ended: active ? null : ended };
  }

  async isActive(grantId: string): Promise<boolean> {
    const r = await this.deps.db.selectFrom('access_requests').select(['status', 'expires_at']).where('id', '=', grantId).executeTakeFirst();
    return !!r && r.status === 'approved' && !!r.expires_at && r.expires_at > this.now();
  }

  // --- requests --------------------------------------------------------------------------

  async request(ctx: RequestContext, input: CreateAccessRequest): Promise<AccessRequest> {
    const scope = parseSecretPattern(input.secret, 'secret');
    const reason = input.reason.trim();
    if (!reason) throw new IdpError('VALIDATION_FAILED', 'reason: a reason is required', { field: 'reason', hint: 'Say why, e.g. --reason "INC-123: refund failures".' });
    const durationSeconds = parseDuration(input.duration ?? this.deps.settings.defaultDuration, 'duration');
    const resolved = await this.deps.resources.resolve(scope);
    const context = { durationSeconds, reason };
    const decision = await this.enforce(ctx, { action: 'access:request', resource: resolved.entity, context }, scope, durationSeconds);
    const auto = this.deps.gate.decide(ctx.principal.ref, { action: 'access:auto-approve', resource: resolved.entity, context });
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
      pending_until: approved ? null : new Date(now.getTime() + parseDuration(this.deps.settings.pendingTtl, 'access.pendingTtl') * 1000).toISOString(),
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
      await this.deps.audit.append({
        actor: ctx.principal.ref, action: 'access:request', target: `secret:${scope.path}`, decision: 'allow', policyIds: decision.permittedBy, requestId: ctx.requestId,
        details: { id: row.id, reason, durationSeconds, outcome: row.status },
      }, trx);
      if (approved) {
        await this.deps.audit.append({
          actor: ctx.principal.ref, action: 'access:approve', target: `secret:${scope.path}`, decision: 'allow', policyIds: ruleOf(auto), requestId: ctx.requestId,
          details: { id: row.id, by: 'policy', rule: ruleOf(auto), reason, expiresAt: row.expires_at },
        }, trx);
      }
    });
    const view = this.view(row);
    if (!approved) this.deps.notifier.notify(pendingMessage(view, this.deps.directory));
    return view;
  }

  async list(ctx: RequestContext, q: AccessListQuery): Promise<AccessRequest[]> {
    const me = ctx.principal.ref;
    let query = this.deps.db.selectFrom('access_requests').selectAll().orderBy('created_at', 'desc').limit(LIST_SCAN_LIMIT);
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
    const durationSeconds = input.duration !== undefined ? parseDuration(input.duration, 'duration') : Number(row.duration_seconds);
    const resolved = await this.resolveRow(row);
    const decision = await this.enforce(ctx, {
      action: 'access:approve', resource: resolved.entity, context: { durationSeconds, requester: userUid(row.requester), reason: row.reason },
    }, scopeOfRow(row), durationSeconds);
    this.assertPending(row, 'approve');
    const now = this.deps.clock.now();
    const changes = {
      status: 'approved', decided_at: now.toISOString(), decided_by: ctx.principal.ref, rule: JSON.stringify(decision.permittedBy),
      decision_reason: input.reason?.trim() || null, duration_seconds: durationSeconds,
      expires_at: new Date(now.getTime() + durationSeconds * 1000).toISOString(),
    };
    const updated = await this.transition(row, 'pending', changes, (trx, next) => this.deps.audit.append({
      actor: ctx.principal.ref, action: 'access:approve', target: `secret:${row.pattern}`, decision: 'allow', policyIds: decision.permittedBy, requestId: ctx.requestId,
      details: { id: row.id, requester: row.requester, by: 'person', durationSeconds, expiresAt: next.expires_at, ...(changes.decision_reason ? { reason: changes.decision_reason } : {}) },
    }, trx));
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
    const decision = await this.enforce(ctx, {
      action: 'access:approve', resource: resolved.entity, context: { requester: userUid(row.requester), reason: row.reason },
    }, scopeOfRow(row), null);
    this.assertPending(row, 'deny');
    const changes = { status: 'denied', decided_at: this.now(), decided_by: ctx.principal.ref, rule: JSON.stringify(decision.permittedBy), decision_reason: reason };
    const updated = await this.transition(row, 'pending', changes, (trx) => this.deps.audit.append({
      actor: ctx.principal.ref, action: 'access:deny', target: `secret:${row.pattern}`, decision: 'allow', policyIds: decision.permittedBy, requestId: ctx.requestId,
      details: { id: row.id, requester: row.requester, reason },
    }, trx));
    const view = this.view(updated);
    this.deps.notifier.notify(decisionMessage(view, 'denied'));
    return view;
  }

  /** Ends an active grant early, or withdraws a pending request. */
  async revoke(ctx: RequestContext, id: string, input: RevokeAccessRequest): Promise<AccessRequest> {
    const row = await this.visibleRow(ctx, id);
    const resolved = await this.resolveRow(row);
    const decision = await this.enforce(ctx, {
      action: 'access:revoke', resource: resolved.entity, context: { requester: userUid(row.requester), reason: row.reason },
    }, scopeOfRow(row), null);
    const status = this.statusOf(row);
    if (status === 'expired') {
      throw new IdpError('ACCESS_REQUEST_EXPIRED', `access request ${id} already ended at ${row.expires_at ?? row.pending_until}; there is nothing to revoke`, { id });
    }
    if (status !== 'approved' && status !== 'pending') {
      throw new IdpError('ACCESS_ALREADY_DECIDED', `access request ${id} was already ${status}${row.decided_by && status === 'denied' ? ` by ${row.decided_by}` : ''}${row.revoked_by ? ` by ${row.revoked_by}` : ''}; there is nothing to revoke`, { id, status });
    }
    const now = this.now();
    const reason = input.reason?.trim() || null;
    const updated = await this.transition(row, row.status, { status: 'revoked', revoked_at: now, revoked_by: ctx.principal.ref, ...(reason && status === 'pending' ? { decision_reason: reason } : {}) }, (trx) => this.deps.audit.append({
      actor: ctx.principal.ref, action: 'access:revoke', target: `secret:${row.pattern}`, decision: 'allow', policyIds: decision.permittedBy, requestId: ctx.requestId,
      details: { id: row.id, requester: row.requester, was: status, ...(reason ? { reason } : {}) },
    }, trx));
    return this.view(updated);
  }

  async stats(ctx: RequestContext, since?: string): Promise<AccessStats> {
    const sinceIso = since ? new Date(this.deps.clock.now().getTime() - parseDuration(since, 'since') * 1000).toISOString() : null;
    let query = this.deps.db.selectFrom('access_requests').selectAll().orderBy('created_at', 'desc').limit(100_000);
    if (sinceIso) query = query.where('created_at', '>=', sinceIso);
    const rows = await query.execute();
    const resolve = this.deps.resources.cached();
    const visible: Row[] = [];
    const all = ctx.principal.roles.includes('admin');
    for (const row of rows) {
      if (all || row.requester === ctx.principal.ref || (await this.mayDecide(ctx.principal.ref, row, resolve))) visible.push(row);
    }
    return accessStats(visible.map((r) => ({ status: this.statusOf(r), autoApproved: r.auto_approved === 1 || Number(r.auto_approved) === 1, createdAt: r.created_at, decidedAt: r.decided_at })), sinceIso);
  }

  /**
   * Marks grants past their end, and pending requests nobody decided in time, as expired, and
   * audits each (access:expire). Reads never depend on it: they compare times themselves.
   */
  async sweep(): Promise<number> {
    const now = this.now();
    const ended = await this.deps.db.selectFrom('access_requests').selectAll()
      .where((eb) => eb.or([
        eb.and([eb('status', '=', 'approved'), eb('expires_at', '<=', now)]),
        eb.and([eb('status', '=', 'pending'), eb('pending_until', '<=', now)]),
      ]))
      .orderBy('created_at').limit(1000).execute();
    let count = 0;
    for (const row of ended) {
      const wasPending = row.status === 'pending';
      const changed = await this.deps.db.transaction().execute(async (trx) => {
        const res = await trx.updateTable('access_requests').set({ status: 'expired' }).where('id', '=', row.id).where('status', '=', row.status).executeTakeFirst();
        if (Number(res.numUpdatedRows) !== 1) return false;
        await this.deps.audit.append({
          actor: SYSTEM_ACTOR, action: 'access:expire', target: `secret:${row.pattern}`, decision: 'allow',
          details: { id: row.id, requester: row.requester, was: row.status, endedAt: wasPending ? row.pending_until : row.expires_at, reason: row.reason },
        }, trx);
        return true;
      });
      if (changed) count += 1;
    }
    return count;
  }

  // --- helpers ---------------------------------------------------------------------------

  private now(): string {
    return this.deps.clock.now().toISOString();
  }

  /** The status as of now: an approved grant past its end, or a stale pending request, is expired. */
  private statusOf(row: Row): AccessStatus {
    const now = this.now();
    if (row.status === 'approved' && row.expires_at && row.expires_at <= now) return 'expired';
    if (row.status === 'pending' && row.pending_until && row.pending_until <= now) return 'expired';
    return row.status as AccessStatus;
  }

  private view(row: Row): AccessRequest {
    return {
      id: row.id,
      requester: row.requester,
      secret: row.pattern,
      env: row.env,
      service: row.service,
      owner: row.owner,
      reason: row.reason,
      durationSeconds: Number(row.duration_seconds),
      status: this.statusOf(row),
      autoApproved: Number(row.auto_approved) === 1,
      createdAt: row.created_at,
      pendingUntil: row.pending_until,
      decidedAt: row.decided_at,
      decidedBy: row.decided_by,
      rule: JSON.parse(row.rule) as string[],
      decisionReason: row.decision_reason,
      expiresAt: row.expires_at,
      revokedAt: row.revoked_at,
      revokedBy: row.revoked_by,
      approvers: row.owner ? this.deps.directory.membersOf(row.owner).map((m) => m.ref).filter((r) => r !== row.requester) : [],
    };
  }

  private async resolveRow(row: Row): Promise<ResolvedSecret> {
    return this.deps.resources.resolve(scopeOfRow(row));
  }

  private async mayDecide(me: string, row: Row, resolve: (s: SecretScope) => Promise<ResolvedSecret | null>): Promise<boolean> {
    const resolved = await resolve(scopeOfRow(row));
    if (!resolved) return false;
    return this.deps.gate.decide(me, { action: 'access:approve', resource: resolved.entity, context: { requester: userUid(row.requester) } }).decision === 'allow';
  }

  /** Requests are visible to their requester and to those who may decide them; others get "not found". */
  private async visibleRow(ctx: RequestContext, id: string): Promise<Row> {
    const row = await this.deps.db.selectFrom('access_requests').selectAll().where('id', '=', id).executeTakeFirst();
    if (row && (row.requester === ctx.principal.ref || (await this.mayDecide(ctx.principal.ref, row, this.deps.resources.cached())))) return row;
    throw new IdpError('ACCESS_REQUEST_NOT_FOUND', `no access request ${id}`, { field: 'id', id });
  }

  private async refuseSelf(ctx: RequestContext, row: Row, verb: 'approve' | 'deny'): Promise<void> {
    if (row.requester !== ctx.principal.ref) return;
    await this.deps.audit.append({
      actor: ctx.principal.ref, action: verb === 'approve' ? 'access:approve' : 'access:deny', target: `secret:${row.pattern}`, decision: 'deny',
      requestId: ctx.requestId, details: { id: row.id, reason: 'self-approval' },
    });
    throw new IdpError('ACCESS_SELF_APPROVAL', `you cannot ${verb} your own access request ${row.id}`, {
      id: row.id, hint: `Ask ${row.owner ? `a member of ${row.owner}` : 'a platform admin'} (\`idp access:list\` shows the approvers).`,
    });
  }

  private assertPending(row: Row, verb: 'approve' | 'deny'): void {
    const status = this.statusOf(row);
    if (status === 'pending') return;
    if (status === 'expired') {
      const when = row.status === 'pending' || !row.expires_at ? `the request expired at ${row.pending_until} before anyone decided` : `its grant already ended at ${row.expires_at}`;
      throw new IdpError('ACCESS_REQUEST_EXPIRED', `cannot ${verb} access request ${row.id}: ${when}`, { id: row.id, status });
    }
    const by = status === 'revoked' ? row.revoked_by : row.decided_by;
    throw new IdpError('ACCESS_ALREADY_DECIDED', `cannot ${verb} access request ${row.id}: it was already ${status}${by ? ` by ${by}` : ''}${row.decided_at && status !== 'revoked' ? ` at ${row.decided_at}` : ''}`, {
      id: row.id, status,
      hint: status === 'approved' ? `To end the grant early: idp access:revoke ${row.id}` : 'Run `idp access:list` to see its state.',
    });
  }

  /** Applies a state change only if nobody changed the row meanwhile, with its audit record in the same transaction. */
  private async transition(row: Row, from: string, changes: Partial<Row>, audit: (trx: Transaction<Database>, next: Row) => Promise<unknown>): Promise<Row> {
    const next = { ...row, ...changes } as Row;
    const ok = await this.deps.db.transaction().execute(async (trx) => {
      const res = await trx.updateTable('access_requests').set(changes).where('id', '=', row.id).where('status', '=', from).executeTakeFirst();
      if (Number(res.numUpdatedRows) !== 1) return false;
      await audit(trx, next);
      return true;
    });
    if (!ok) {
      const fresh = await this.deps.db.selectFrom('access_requests').selectAll().where('id', '=', row.id).executeTakeFirstOrThrow();
      throw new IdpError('ACCESS_ALREADY_DECIDED', `access request ${row.id} was ${this.statusOf(fresh)} by ${fresh.revoked_by ?? fresh.decided_by ?? 'the control plane'} at the same moment`, { id: row.id, status: this.statusOf(fresh) });
    }
    return next;
  }

  /**
   * Like gate.enforce, but a denial caused by the duration alone becomes ACCESS_DURATION_TOO_LONG
   * naming the maximum the policies allow (found by asking them) and the policy that set it.
   */
  private async enforce(ctx: RequestContext, req: GateRequest, scope: SecretScope, durationSeconds: number | null): Promise<Decision> {
    const decision = this.deps.gate.decide(ctx.principal.ref, req);
    if (decision.decision === 'allow') return decision;
    const max = durationSeconds === null ? null : this.maxDuration(ctx.principal.ref, req, durationSeconds);
    if (max === null) return this.deps.gate.enforce(ctx, req);
    return this.deps.gate.refuse(ctx, req, decision, new IdpError('ACCESS_DURATION_TOO_LONG', `duration ${formatDuration(durationSeconds!)} is above the maximum of ${formatDuration(max)} for ${scope.path} (policy ${decision.forbiddenBy.join(', ')})`, {
      field: 'duration', durationSeconds, maxSeconds: max, forbiddenBy: decision.forbiddenBy,
      hint: `Ask for ${formatDuration(max)} or less, e.g. --duration ${formatDuration(max)}.`,
    }), { durationSeconds, maxSeconds: max });
  }

  /** The longest duration the policies allow for this request, or null when the duration is not why it was denied. */
  private maxDuration(principal: string, req: GateRequest, asked: number): number | null {
    const allows = (s: number) => this.deps.gate.decide(principal, { ...req, context: { ...req.context, durationSeconds: s } }).decision === 'allow';
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
}

function ruleOf(d: Decision): string[] {
  // platform-admins-all matches every action; when a specific rule also matched, that is the one to name.
  const specific = d.permittedBy.filter((id) => id !== 'admins/platform-admins-all');
  return specific.length ? specific : d.permittedBy;
}

function scopeOfRow(row: Row): SecretScope {
  return { env: row.env, service: row.service, key: row.key_pattern, path: row.pattern };
}

function who(ref: string, directory: Directory): string {
  return directory.users.get(ref)?.email ?? ref;
}

function pendingMessage(r: AccessRequest, directory: Directory): { text: string; blocks: unknown[] } {
  const team = r.owner ? r.owner.replace(/^group:(default\/)?/, '') : 'the platform admins';
  const text = `Access request ${r.id}: ${who(r.requester, directory)} asks to read ${r.secret} for ${formatDuration(r.durationSeconds)}. Reason: ${r.reason}. `
    + `Approvers: ${team}. Approve with \`idp access:approve ${r.id}\` or deny with \`idp access:deny ${r.id} --reason "…"\`.`;
  return {
    text,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: `*Access request* \`${r.id}\`\n*${who(r.requester, directory)}* asks to read \`${r.secret}\` for *${formatDuration(r.durationSeconds)}*\n>${r.reason}` } },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `Approvers: ${team}${r.approvers.length ? ` (${r.approvers.map((a) => who(a, directory)).join(', ')})` : ''} · expires unless decided by ${r.pendingUntil}` }] },
      { type: 'section', text: { type: 'mrkdwn', text: `\`idp access:approve ${r.id}\` · \`idp access:deny ${r.id} --reason "…"\`` } },
    ],
  };
}

function decisionMessage(r: AccessRequest, outcome: 'approved' | 'denied'): { text: string; blocks: unknown[] } {
  const text = outcome === 'approved'
    ? `Access request ${r.id} (${r.secret}, for ${r.requester}) was approved by ${r.decidedBy} until ${r.expiresAt}.`
    : `Access request ${r.id} (${r.secret}, for ${r.requester}) was denied by ${r.decidedBy}: ${r.decisionReason}.`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}
