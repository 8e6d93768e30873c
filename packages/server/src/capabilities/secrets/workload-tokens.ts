import { createHash, randomBytes } from 'node:crypto';
import {
  IdpError,
  type CreateWorkloadTokenRequest,
  type WorkloadToken,
  type WorkloadTokenInfo,
  type WorkloadTokenListQuery,
} from '@idp/contracts';
import { parseDuration, type CedarEntity } from '@idp/core';
import type { RequestContext } from '../../auth/context.ts';
import { userUid } from '../../identity/index.ts';
import { PLATFORM } from '../../policy/gate.ts';
import type { Database } from '../../store/index.ts';
import type { SecretsDeps } from './deps.ts';
import { authorizeWithGrant } from './grants.ts';
import { checkScope } from './paths.ts';
import { scopeOf, type SecretStore } from './store.ts';

type TokenRow = Database['workload_tokens'];

/** Who revokes a token whose creator may no longer issue it. */
export const ACCESS_LOST = 'system:access-lost';

const DEFAULT_TOKEN_TTL = '1h';

/** Only this hash of a workload token is stored. */
export function hashWorkloadToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * Workload tokens: issuing one, listing (your own; platform admins: all), revoking
 * (the creator or a platform admin, through the same `token:revoke` policy as API tokens), and
 * the check every Vault read makes that the token's creator may still issue it. A token is
 * the creator's access handed to a workload, so it never outlives that access: when the
 * policies no longer let the creator issue it (they left the owning team, the production
 * grant it was bound to ended or was revoked, the service left the catalog, they were removed),
 * the read is refused and the token is revoked for good.
 */
export class WorkloadTokens {
  constructor(
    private readonly deps: SecretsDeps,
    private readonly store: SecretStore,
  ) {}

  /**
   * A token for the Vault-compatible endpoint, scoped to one environment and service. In
   * production the policies want a grant for <env>/<service>/*: the token is bound to it and
   * never outlives it.
   */
  async create(ctx: RequestContext, req: CreateWorkloadTokenRequest): Promise<WorkloadToken> {
    checkScope(req.env, req.service);
    const ttlSeconds = parseDuration(req.ttl ?? DEFAULT_TOKEN_TTL, 'ttl');
    const scope = scopeOf(req.env, req.service);
    const resolved = await this.deps.resources.resolve(scope);
    const grant = await this.deps.grants.grantFor(ctx.principal.ref, req.env, req.service, '*');
    const decision = await authorizeWithGrant(this.deps, ctx, 'secret:token', resolved, scope, grant, {
      durationSeconds: ttlSeconds,
    });
    const now = this.deps.clock.now();
    const bound = resolved.tier === 'production' && grant.active ? grant.active : null;
    let expiresAt = new Date(now.getTime() + ttlSeconds * 1000).toISOString();
    if (bound && bound.expiresAt < expiresAt) expiresAt = bound.expiresAt;
    const token = `idpw_${randomBytes(32).toString('base64url')}`;
    const row = {
      id: this.deps.ids.next('wtk'),
      token_hash: hashWorkloadToken(token),
      env: req.env,
      service: req.service,
      grant_id: bound?.id ?? null,
      created_at: now.toISOString(),
      created_by: ctx.principal.ref,
      expires_at: expiresAt,
      revoked_at: null,
    };
    await this.store.write(async (trx) => {
      await trx.insertInto('workload_tokens').values(row).execute();
      await this.deps.audit.append(
        {
          actor: ctx.principal.ref,
          action: 'secret:token',
          target: `secret:${scope.path}`,
          decision: 'allow',
          policyIds: decision.permittedBy,
          requestId: ctx.requestId,
          details: { tokenId: row.id, expiresAt, ...(bound ? { grant: bound.id } : {}) },
        },
        trx,
      );
    });
    return {
      id: row.id,
      token,
      env: row.env,
      service: row.service,
      createdAt: row.created_at,
      createdBy: row.created_by,
      expiresAt,
      grant: row.grant_id,
    };
  }

  async list(ctx: RequestContext, q: WorkloadTokenListQuery): Promise<WorkloadTokenInfo[]> {
    if (q.env !== undefined) checkScope(q.env, q.service ?? 'x');
    if (q.service !== undefined) checkScope(q.env ?? 'x', q.service);
    let query = this.deps.db.selectFrom('workload_tokens').selectAll().orderBy('created_at', 'desc').limit(1000);
    if (!this.isAdmin(ctx)) query = query.where('created_by', '=', ctx.principal.ref);
    if (q.env !== undefined) query = query.where('env', '=', q.env);
    if (q.service !== undefined) query = query.where('service', '=', q.service);
    return (await query.execute()).map((r) => this.view(r));
  }

  async revoke(ctx: RequestContext, id: string): Promise<WorkloadTokenInfo> {
    const row = await this.deps.db.selectFrom('workload_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    // A token someone may not see is reported as missing, so ids cannot be probed.
    if (!row || (row.created_by !== ctx.principal.ref && !this.isAdmin(ctx))) {
      throw new IdpError('WORKLOAD_TOKEN_NOT_FOUND', `no workload token with id ${id.slice(0, 80)}`, { field: 'id' });
    }
    const decision = await this.deps.gate.enforce(ctx, { action: 'token:revoke', resource: tokenEntity(row) });
    if (row.revoked_at) {
      throw new IdpError(
        'WORKLOAD_TOKEN_ALREADY_REVOKED',
        `the workload token ${id} was already revoked at ${row.revoked_at}${row.revoked_by ? ` by ${row.revoked_by}` : ''}`,
        { field: 'id' },
      );
    }
    const now = this.deps.clock.now().toISOString();
    await this.deps.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('workload_tokens')
        .set({ revoked_at: now, revoked_by: ctx.principal.ref })
        .where('id', '=', id)
        .where('revoked_at', 'is', null)
        .execute();
      await this.deps.audit.append(
        {
          actor: ctx.principal.ref,
          action: 'secret:token:revoke',
          target: `workload-token:${id}`,
          decision: 'allow',
          policyIds: decision.permittedBy,
          requestId: ctx.requestId,
          details: { env: row.env, service: row.service, createdBy: row.created_by },
        },
        trx,
      );
    });
    return this.view({ ...row, revoked_at: now, revoked_by: ctx.principal.ref });
  }

  /**
   * Why the token's creator may no longer issue it, or null when they still may: the
   * `secret:token` decision for its environment and service made again now, with the creator's
   * current grants, and a token bound to a grant ends with that grant whatever else they hold.
   * `revoke`: the creator's access is gone for sure (not a service the catalog lost for a
   * moment), so the token is revoked for good.
   */
  async creatorLostAccess(row: TokenRow): Promise<{ reason: string; revoke: boolean } | null> {
    const { deps } = this;
    if (row.grant_id && !(await deps.grants.isActive(row.grant_id))) {
      return { reason: `the access grant ${row.grant_id} it was issued under has ended`, revoke: true };
    }
    const scope = scopeOf(row.env, row.service);
    const resolved = await deps.resources.cached()(scope);
    if (!resolved) return { reason: `the service ${row.service} is not in the catalog`, revoke: false };
    const grant = await deps.grants.grantFor(row.created_by, row.env, row.service, '*');
    const durationSeconds = Math.max(0, Math.round((Date.parse(row.expires_at) - Date.parse(row.created_at)) / 1000));
    const decision = deps.gate.decide(row.created_by, {
      action: 'secret:token',
      resource: resolved.entity,
      context: { durationSeconds, hasGrant: grant.active !== null },
    });
    if (decision.decision === 'allow') return null;
    return {
      reason: `its creator ${row.created_by} may no longer issue workload tokens for ${row.env}/${row.service}: ${decision.reason}`,
      revoke: true,
    };
  }

  /** Ends a token whose creator lost access; audited as the platform's own revocation. */
  async revokeForLostAccess(row: TokenRow, reason: string, requestId: string): Promise<void> {
    const now = this.deps.clock.now().toISOString();
    await this.deps.db.transaction().execute(async (trx) => {
      const r = await trx
        .updateTable('workload_tokens')
        .set({ revoked_at: now, revoked_by: ACCESS_LOST })
        .where('id', '=', row.id)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      if (!Number(r.numUpdatedRows)) return;
      await this.deps.audit.append(
        {
          actor: ACCESS_LOST,
          action: 'secret:token:revoke',
          target: `workload-token:${row.id}`,
          decision: 'allow',
          requestId,
          details: { env: row.env, service: row.service, createdBy: row.created_by, reason },
        },
        trx,
      );
    });
  }

  /** Records a served read; one UPDATE, no audit (the read itself is audited). */
  async touch(id: string): Promise<void> {
    await this.deps.db
      .updateTable('workload_tokens')
      .set({ last_used_at: this.deps.clock.now().toISOString() })
      .where('id', '=', id)
      .execute();
  }

  private isAdmin(ctx: RequestContext): boolean {
    // The same test as API tokens: who may list every token may see every workload token.
    return this.deps.gate.decide(ctx.principal.ref, { action: 'token:list', resource: PLATFORM }).decision === 'allow';
  }

  private view(row: TokenRow): WorkloadTokenInfo {
    const now = this.deps.clock.now().toISOString();
    return {
      id: row.id,
      env: row.env,
      service: row.service,
      status: row.revoked_at ? 'revoked' : row.expires_at <= now ? 'expired' : 'active',
      createdAt: row.created_at,
      createdBy: row.created_by,
      expiresAt: row.expires_at,
      revokedAt: row.revoked_at,
      revokedBy: row.revoked_by ?? null,
      lastUsedAt: row.last_used_at ?? null,
      grant: row.grant_id,
    };
  }
}

/** The Token entity `tokens-own-revoke` reads: its owner is the user who made it. */
function tokenEntity(row: TokenRow): CedarEntity {
  return { uid: { type: 'Token', id: row.id }, attrs: { owner: userUid(row.created_by) }, parents: [] };
}
