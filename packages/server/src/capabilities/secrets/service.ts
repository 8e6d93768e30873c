import { createHash, randomBytes } from 'node:crypto';
import { sql, type Kysely, type Transaction } from 'kysely';
import {
  IdpError,
  type CreateWorkloadTokenRequest,
  type SecretListQuery,
  type SecretMeta,
  type SecretValue,
  type SecretVersionList,
  type WorkloadToken,
} from '@idp/contracts';
import { parseDuration, type Decision } from '@idp/core';
import type { AuditLog } from '../../audit/index.ts';
import type { RequestContext } from '../../auth/context.ts';
import type { Clock, IdSource } from '../../clock.ts';
import type { PolicyGate } from '../../policy/gate.ts';
import type { Database, Dialect } from '../../store/index.ts';
import type { SecretCipher } from './crypto.ts';
import { checkScope, parseSecretPath, type SecretPath } from './paths.ts';
import type { ResolvedSecret, SecretResources, SecretScope } from './resources.ts';
import { WorkloadTokens } from './workload-tokens.ts';

export interface GrantInfo {
  id: string;
  expiresAt: string;
  reason: string;
}

/** What secrets needs from access: the caller's grants. Implemented by AccessService. */
export interface GrantLookup {
  /**
   * The principal's active grant covering `key` of env/service (`*`: the whole service), and
   * when there is none, the grant covering it that ended by time most recently (for ACCESS_EXPIRED).
   */
  grantFor(principalRef: string, env: string, service: string, key: string): Promise<{ active: GrantInfo | null; ended: GrantInfo | null }>;
  /** Whether a grant is still approved and unexpired (workload tokens bound to one end with it). */
  isActive(grantId: string): Promise<boolean>;
}

export interface SecretsDeps {
  db: Kysely<Database>;
  dialect: Dialect;
  audit: AuditLog;
  gate: PolicyGate;
  clock: Clock;
  ids: IdSource;
  cipher: SecretCipher;
  resources: SecretResources;
  grants: GrantLookup;
}

/** A failure answered in Vault's shape ({"errors": […]}) instead of idp's envelope. */
export class VaultError extends Error {
  constructor(readonly status: number, readonly errors: string[]) {
    super(errors[0] ?? `HTTP ${status}`);
  }
}

export interface VaultSecret {
  data: Record<string, string>;
  metadata: { created_time: string; custom_metadata: null; deletion_time: string; destroyed: boolean; version: number };
}

type SecretRow = Database['secrets'];

const DEFAULT_TOKEN_TTL = '1h';

export function hashWorkloadToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/**
 * The secret store: encrypted, versioned values at <env>/<service>/<KEY>. Every call follows
 * validate → authorize (Cedar, with the caller's grant in the context) → change + audit in one
 * transaction. Values exist in plaintext only in the request being served: never in a row, a
 * log line, an audit record or an error.
 */
export class SecretsService {
  /** Listing and revoking workload tokens, and the creator check of every Vault read. */
  readonly tokens: WorkloadTokens;

  constructor(private readonly deps: SecretsDeps) {
    deps.resources.registerWith(deps.gate);
    this.tokens = new WorkloadTokens(deps);
  }

  get resources(): SecretResources {
    return this.deps.resources;
  }

  async set(ctx: RequestContext, pathText: string, value: string): Promise<SecretMeta> {
    const p = parseSecretPath(pathText);
    checkValue(value);
    const resolved = await this.deps.resources.resolve(p);
    const decision = await this.deps.gate.enforce(ctx, { action: 'secret:write', resource: resolved.entity });
    const now = this.now();
    const row = await this.write(async (trx) => {
      const existing = await this.lockSecret(trx, p);
      const version = existing ? existing.current_version + 1 : 1;
      const sealed = this.deps.cipher.encrypt(value, p.path, version);
      let next: SecretRow;
      if (existing) {
        next = { ...existing, current_version: version, updated_at: now, updated_by: ctx.principal.ref, deleted_at: null, deleted_by: null };
        await trx.updateTable('secrets')
          .set({ current_version: version, updated_at: now, updated_by: ctx.principal.ref, deleted_at: null, deleted_by: null })
          .where('id', '=', existing.id).execute();
      } else {
        next = {
          id: this.deps.ids.next('sec'), env: p.env, service: p.service, key: p.key, current_version: 1,
          created_at: now, created_by: ctx.principal.ref, updated_at: now, updated_by: ctx.principal.ref, deleted_at: null, deleted_by: null,
        };
        await trx.insertInto('secrets').values(next).execute();
      }
      await trx.insertInto('secret_versions').values({
        secret_id: next.id, version, ciphertext: sealed.ciphertext, wrapped_key: sealed.wrappedKey, key_id: sealed.keyId, created_at: now, created_by: ctx.principal.ref,
      }).execute();
      await this.bumpScope(trx, p.env, p.service, now);
      await this.deps.audit.append({
        actor: ctx.principal.ref, action: 'secret:write', target: `secret:${p.path}`, decision: 'allow',
        policyIds: decision.permittedBy, requestId: ctx.requestId, details: { version, created: !existing },
      }, trx);
      return next;
    });
    return toMeta(row);
  }

  async get(ctx: RequestContext, pathText: string, version?: number): Promise<SecretValue> {
    const p = parseSecretPath(pathText);
    const resolved = await this.deps.resources.resolve(p);
    const grant = await this.deps.grants.grantFor(ctx.principal.ref, p.env, p.service, p.key);
    const decision = await this.authorize(ctx, 'secret:read', resolved, p, grant, {});
    const target = `secret:${p.path}`;
    const row = await this.findSecret(this.deps.db, p);
    const wanted = version ?? row?.current_version;
    const v = row && wanted !== undefined && (version !== undefined || !row.deleted_at)
      ? await this.deps.db.selectFrom('secret_versions').selectAll().where('secret_id', '=', row.id).where('version', '=', wanted).executeTakeFirst()
      : undefined;
    if (!row || !v) {
      const err = notFound(p.path, row, version);
      await this.deps.audit.append({ actor: ctx.principal.ref, action: 'secret:read', target, decision: 'error', policyIds: decision.permittedBy, requestId: ctx.requestId, details: { code: err.code, ...(version ? { version } : {}) } });
      throw err;
    }
    const value = await this.open(ctx.principal.ref, ctx.requestId, p.path, v, { via: 'api' });
    await this.deps.audit.append({
      actor: ctx.principal.ref, action: 'secret:read', target, decision: 'allow', policyIds: decision.permittedBy, requestId: ctx.requestId,
      details: { version: v.version, via: 'api', ...(grant.active ? { grant: grant.active.id, grantReason: grant.active.reason } : {}) },
    });
    return {
      path: p.path, env: p.env, service: p.service, key: p.key, version: v.version, value,
      createdAt: row.created_at, createdBy: row.created_by, versionCreatedAt: v.created_at, versionCreatedBy: v.created_by,
      grant: grant.active?.id ?? null,
    };
  }

  /** Names, versions and who changed them, for the scopes the caller may list; audited. */
  async list(ctx: RequestContext, q: SecretListQuery): Promise<SecretMeta[]> {
    if (q.env !== undefined) checkScope(q.env, q.service ?? 'x');
    if (q.service !== undefined) checkScope(q.env ?? 'x', q.service);
    let decision: Decision | null = null;
    if (q.env !== undefined && q.service !== undefined) {
      // Naming one scope the caller may not list is a denial, not an empty answer.
      const resolved = await this.deps.resources.resolve(scopeOf(q.env, q.service));
      decision = await this.deps.gate.enforce(ctx, { action: 'secret:list', resource: resolved.entity });
    } else if (q.service !== undefined) {
      await this.deps.resources.resolve(scopeOf('x', q.service));
    }
    let query = this.deps.db.selectFrom('secrets').selectAll().where('deleted_at', 'is', null).orderBy('env').orderBy('service').orderBy('key');
    if (q.env !== undefined) query = query.where('env', '=', q.env);
    if (q.service !== undefined) query = query.where('service', '=', q.service);
    const rows = await query.execute();
    const resolve = this.deps.resources.cached();
    const allowed = new Map<string, Decision | null>();
    const policyIds = new Set<string>(decision?.permittedBy ?? []);
    for (const row of rows) {
      const k = `${row.env}/${row.service}`;
      if (allowed.has(k)) continue;
      const resolved = await resolve(scopeOf(row.env, row.service));
      const d = resolved ? this.deps.gate.decide(ctx.principal.ref, { action: 'secret:list', resource: resolved.entity }) : null;
      allowed.set(k, d && d.decision === 'allow' ? d : null);
      for (const id of d?.decision === 'allow' ? d.permittedBy : []) policyIds.add(id);
    }
    const items = rows.filter((r) => allowed.get(`${r.env}/${r.service}`)).map(toMeta);
    await this.deps.audit.append({
      actor: ctx.principal.ref, action: 'secret:list', target: `secret:${q.env ?? '*'}/${q.service ?? '*'}/*`, decision: 'allow',
      policyIds: [...policyIds].sort(), requestId: ctx.requestId, details: { count: items.length, ...(q.env ? { env: q.env } : {}), ...(q.service ? { service: q.service } : {}) },
    });
    return items;
  }

  async versions(ctx: RequestContext, pathText: string): Promise<SecretVersionList> {
    const p = parseSecretPath(pathText);
    const resolved = await this.deps.resources.resolve(p);
    const decision = await this.deps.gate.enforce(ctx, { action: 'secret:list', resource: resolved.entity });
    const row = await this.findSecret(this.deps.db, p);
    if (!row) throw notFound(p.path, undefined, undefined);
    const versions = await this.deps.db.selectFrom('secret_versions').select(['version', 'created_at', 'created_by'])
      .where('secret_id', '=', row.id).orderBy('version', 'desc').execute();
    await this.deps.audit.append({
      actor: ctx.principal.ref, action: 'secret:list', target: `secret:${p.path}`, decision: 'allow', policyIds: decision.permittedBy,
      requestId: ctx.requestId, details: { versions: versions.length },
    });
    return {
      path: p.path,
      deletedAt: row.deleted_at,
      items: versions.map((v) => ({ version: Number(v.version), createdAt: v.created_at, createdBy: v.created_by, current: !row.deleted_at && Number(v.version) === row.current_version })),
    };
  }

  /** Marks the secret deleted; its versions stay (an admin can still read an old one with --version). */
  async delete(ctx: RequestContext, pathText: string): Promise<SecretMeta> {
    const p = parseSecretPath(pathText);
    const resolved = await this.deps.resources.resolve(p);
    const decision = await this.deps.gate.enforce(ctx, { action: 'secret:delete', resource: resolved.entity });
    const now = this.now();
    const row = await this.write(async (trx) => {
      const existing = await this.lockSecret(trx, p);
      if (!existing || existing.deleted_at) throw notFound(p.path, existing, undefined);
      await trx.updateTable('secrets').set({ deleted_at: now, deleted_by: ctx.principal.ref }).where('id', '=', existing.id).execute();
      await this.bumpScope(trx, p.env, p.service, now);
      await this.deps.audit.append({
        actor: ctx.principal.ref, action: 'secret:delete', target: `secret:${p.path}`, decision: 'allow', policyIds: decision.permittedBy,
        requestId: ctx.requestId, details: { version: existing.current_version },
      }, trx);
      return existing;
    });
    return toMeta(row);
  }

  /**
   * A token for the Vault-compatible endpoint, scoped to one environment and service. In
   * production the policies want a grant for <env>/<service>/*: the token is bound to it and
   * never outlives it.
   */
  async createToken(ctx: RequestContext, req: CreateWorkloadTokenRequest): Promise<WorkloadToken> {
    checkScope(req.env, req.service);
    const ttlSeconds = parseDuration(req.ttl ?? DEFAULT_TOKEN_TTL, 'ttl');
    const scope = scopeOf(req.env, req.service);
    const resolved = await this.deps.resources.resolve(scope);
    const grant = await this.deps.grants.grantFor(ctx.principal.ref, req.env, req.service, '*');
    const decision = await this.authorize(ctx, 'secret:token', resolved, scope, grant, { durationSeconds: ttlSeconds });
    const now = this.deps.clock.now();
    const bound = resolved.tier === 'production' && grant.active ? grant.active : null;
    let expiresAt = new Date(now.getTime() + ttlSeconds * 1000).toISOString();
    if (bound && bound.expiresAt < expiresAt) expiresAt = bound.expiresAt;
    const token = `idpw_${randomBytes(32).toString('base64url')}`;
    const row = {
      id: this.deps.ids.next('wtk'), token_hash: hashWorkloadToken(token), env: req.env, service: req.service, grant_id: bound?.id ?? null,
      created_at: now.toISOString(), created_by: ctx.principal.ref, expires_at: expiresAt, revoked_at: null,
    };
    await this.write(async (trx) => {
      await trx.insertInto('workload_tokens').values(row).execute();
      await this.deps.audit.append({
        actor: ctx.principal.ref, action: 'secret:token', target: `secret:${scope.path}`, decision: 'allow', policyIds: decision.permittedBy,
        requestId: ctx.requestId, details: { tokenId: row.id, expiresAt, ...(bound ? { grant: bound.id } : {}) },
      }, trx);
    });
    return { id: row.id, token, env: row.env, service: row.service, createdAt: row.created_at, createdBy: row.created_by, expiresAt, grant: row.grant_id };
  }

  /**
   * Vault KV v2 read of every current secret of one environment and service, for a workload
   * token scoped to exactly that. Failures are VaultErrors (Vault's shapes); all are audited.
   * `anonymous`, when given, takes the requests with no token or one idp never issued (the
   * route's rate limit, which collapses their audit rows) instead of one audit row each.
   */
  async vaultRead(token: string | undefined, env: string, service: string, requestId: string, anonymous?: (code: 'UNAUTHENTICATED' | 'TOKEN_INVALID', why: string) => Promise<never>): Promise<VaultSecret> {
    const target = `secret:${env}/${service}/*`;
    const deny = async (actor: string, why: string, details: Record<string, unknown> = {}): Promise<never> => {
      await this.deps.audit.append({ actor, action: 'secret:read', target, decision: 'deny', requestId, details: { via: 'vault', reason: why, ...details } });
      throw new VaultError(403, ['permission denied']);
    };
    if (!token) return anonymous ? anonymous('UNAUTHENTICATED', 'no X-Vault-Token') : deny('anonymous', 'no X-Vault-Token');
    const row = await this.deps.db.selectFrom('workload_tokens').selectAll().where('token_hash', '=', hashWorkloadToken(token)).executeTakeFirst();
    if (!row) return anonymous ? anonymous('TOKEN_INVALID', 'the token is not a workload token idp issued') : deny('anonymous', 'the token is not a workload token idp issued');
    const actor = `workload:${row.id}`;
    const now = this.now();
    if (row.revoked_at) return deny(actor, `the token was revoked at ${row.revoked_at}`);
    if (row.expires_at <= now) return deny(actor, `the token expired at ${row.expires_at}`);
    if (row.env !== env || row.service !== service) return deny(actor, `the token is scoped to ${row.env}/${row.service}`);
    // The token carries its creator's access: re-decided on every use, so it ends with it.
    const lost = await this.tokens.creatorLostAccess(row);
    if (lost) {
      if (lost.revoke) await this.tokens.revokeForLostAccess(row, lost.reason, requestId);
      return deny(actor, lost.reason, { tokenCreatedBy: row.created_by, ...(row.grant_id ? { grant: row.grant_id } : {}) });
    }

    const rows = await this.deps.db.selectFrom('secrets as s')
      .innerJoin('secret_versions as v', (j) => j.onRef('v.secret_id', '=', 's.id').onRef('v.version', '=', 's.current_version'))
      .select(['s.key', 's.current_version', 'v.ciphertext', 'v.wrapped_key', 'v.key_id', 'v.created_at', 'v.created_by', 'v.secret_id', 'v.version'])
      .where('s.env', '=', env).where('s.service', '=', service).where('s.deleted_at', 'is', null).orderBy('s.key').execute();
    if (rows.length === 0) {
      await this.deps.audit.append({ actor, action: 'secret:read', target, decision: 'error', requestId, details: { via: 'vault', code: 'SECRET_NOT_FOUND', tokenCreatedBy: row.created_by } });
      throw new VaultError(404, []);
    }
    const data: Record<string, string> = {};
    for (const r of rows) {
      try {
        data[r.key] = await this.open(actor, requestId, `${env}/${service}/${r.key}`, r, { via: 'vault' });
      } catch (err) {
        throw new VaultError(500, [err instanceof IdpError ? err.message : 'internal error']);
      }
    }
    const scope = await this.deps.db.selectFrom('secret_scopes').selectAll().where('env', '=', env).where('service', '=', service).executeTakeFirst();
    await this.tokens.touch(row.id);
    await this.deps.audit.append({
      actor, action: 'secret:read', target, decision: 'allow', requestId,
      details: { via: 'vault', keys: rows.map((r) => r.key), tokenCreatedBy: row.created_by, ...(row.grant_id ? { grant: row.grant_id } : {}) },
    });
    return {
      data,
      metadata: {
        created_time: scope?.updated_at ?? rows[0]!.created_at,
        custom_metadata: null,
        deletion_time: '',
        destroyed: false,
        version: Number(scope?.revision ?? 1),
      },
    };
  }

  // --- helpers ---------------------------------------------------------------------------

  /**
   * Decides with the caller's grant in the context; a denial is audited, and is ACCESS_EXPIRED
   * when a grant that would have allowed it has ended.
   */
  private async authorize(
    ctx: RequestContext,
    action: string,
    resolved: ResolvedSecret,
    scope: SecretScope,
    grant: { active: GrantInfo | null; ended: GrantInfo | null },
    extra: Record<string, unknown>,
  ): Promise<Decision> {
    const req = { action, resource: resolved.entity, context: { ...extra, hasGrant: grant.active !== null } };
    const decision = this.deps.gate.decide(ctx.principal.ref, req);
    if (decision.decision === 'allow') return decision;
    const target = `secret:${scope.path}`;
    const grantWouldAllow = this.deps.gate.decide(ctx.principal.ref, { ...req, context: { ...extra, hasGrant: true } }).decision === 'allow';
    const expired = !grant.active && grant.ended && grantWouldAllow ? grant.ended : null;
    await this.deps.audit.append({
      actor: ctx.principal.ref, action, target, decision: 'deny', policyIds: decision.forbiddenBy, requestId: ctx.requestId,
      details: { reason: decision.reason, ...(expired ? { expiredGrant: expired.id, expiredAt: expired.expiresAt } : {}), ...(decision.errors.length ? { errors: decision.errors } : {}) },
    });
    if (expired) {
      throw new IdpError('ACCESS_EXPIRED', `your access grant ${expired.id} for ${scope.path} ended at ${expired.expiresAt}`, {
        path: scope.path, grant: expired.id, expiredAt: expired.expiresAt,
        hint: `Ask again: idp access:request --secret=${scope.path} --reason="…" --duration=1h`,
      });
    }
    const hint = grantWouldAllow
      ? `This needs an access grant: idp access:request --secret=${scope.path} --reason="…" --duration=1h (the owning team is approved at once).`
      : `Run \`idp policy:check --principal ${ctx.principal.ref} --action ${action} --resource ${target}\` to see the decision, or ask the owning team.`;
    throw new IdpError('POLICY_DENIED', `${action} on ${target} denied: ${decision.reason}`, {
      action, resource: target, reason: decision.reason, forbiddenBy: decision.forbiddenBy, hint,
    });
  }

  /**
   * Copies every live secret of `from` to the same service/KEY under `to` (the environments
   * capability calls it after its own env:create decision; each value is re-encrypted, because
   * the path is part of the authenticated data). One transaction, so a crash copies all or
   * nothing; secrets already at the target are left as they are, so a re-run converges.
   */
  async copyEnvironment(from: string, to: string, actor: string, requestId: string): Promise<number> {
    checkScope(from, 'x');
    checkScope(to, 'x');
    const now = this.now();
    return this.write(async (trx) => {
      const rows = await trx.selectFrom('secrets').selectAll().where('env', '=', from).where('deleted_at', 'is', null).orderBy('service').orderBy('key').execute();
      const existing = new Set((await trx.selectFrom('secrets').select(['service', 'key']).where('env', '=', to).execute()).map((r) => `${r.service}/${r.key}`));
      let copied = 0;
      const services = new Set<string>();
      for (const row of rows) {
        if (existing.has(`${row.service}/${row.key}`)) continue;
        const v = await trx.selectFrom('secret_versions').selectAll().where('secret_id', '=', row.id).where('version', '=', row.current_version).executeTakeFirst();
        if (!v) continue;
        const source = `${from}/${row.service}/${row.key}`;
        const value = await this.open(actor, requestId, source, v, { copyTo: to });
        const target = `${to}/${row.service}/${row.key}`;
        const sealed = this.deps.cipher.encrypt(value, target, 1);
        const id = this.deps.ids.next('sec');
        await trx.insertInto('secrets').values({
          id, env: to, service: row.service, key: row.key, current_version: 1,
          created_at: now, created_by: actor, updated_at: now, updated_by: actor, deleted_at: null, deleted_by: null,
        }).execute();
        await trx.insertInto('secret_versions').values({
          secret_id: id, version: 1, ciphertext: sealed.ciphertext, wrapped_key: sealed.wrappedKey, key_id: sealed.keyId, created_at: now, created_by: actor,
        }).execute();
        services.add(row.service);
        copied++;
      }
      for (const service of services) await this.bumpScope(trx, to, service, now);
      await this.deps.audit.append({
        actor, action: 'secret:copy', target: `secret:${to}/*/*`, decision: 'allow', requestId, details: { from, to, copied },
      }, trx);
      return copied;
    });
  }

  /** Removes every secret of an environment that is being deleted, versions included, and ends its workload tokens. */
  async purgeEnvironment(env: string, actor: string, requestId: string): Promise<number> {
    checkScope(env, 'x');
    const now = this.now();
    return this.write(async (trx) => {
      const ids = (await trx.selectFrom('secrets').select('id').where('env', '=', env).execute()).map((r) => r.id);
      if (ids.length) {
        await trx.deleteFrom('secret_versions').where('secret_id', 'in', ids).execute();
        await trx.deleteFrom('secrets').where('id', 'in', ids).execute();
      }
      await trx.deleteFrom('secret_scopes').where('env', '=', env).execute();
      await trx.updateTable('workload_tokens').set({ revoked_at: now }).where('env', '=', env).where('revoked_at', 'is', null).execute();
      await this.deps.audit.append({
        actor, action: 'secret:purge', target: `secret:${env}/*/*`, decision: 'allow', requestId, details: { env, deleted: ids.length },
      }, trx);
      return ids.length;
    });
  }

  /** A service's secrets in an environment as KEY → value, for the processes the platform runs (never returned by the API). */
  async valuesFor(env: string, service: string): Promise<Record<string, string>> {
    checkScope(env, service);
    const rows = await this.deps.db.selectFrom('secrets').selectAll().where('env', '=', env).where('service', '=', service).where('deleted_at', 'is', null).execute();
    const out: Record<string, string> = {};
    for (const row of rows) {
      const v = await this.deps.db.selectFrom('secret_versions').selectAll().where('secret_id', '=', row.id).where('version', '=', row.current_version).executeTakeFirst();
      if (v) out[row.key] = await this.open('system:runtime', 'runtime', `${env}/${service}/${row.key}`, v, { runtime: true });
    }
    return out;
  }

  /** How many live secrets an environment has. */
  async countEnvironment(env: string): Promise<number> {
    const r = await this.deps.db.selectFrom('secrets').select((eb) => eb.fn.countAll<number>().as('n')).where('env', '=', env).where('deleted_at', 'is', null).executeTakeFirst();
    return Number(r?.n ?? 0);
  }

  /** Sets a secret as the platform itself (base environment seed data), audited under `actor`. */
  async setAsSystem(actor: string, pathText: string, value: string): Promise<void> {
    const p = parseSecretPath(pathText);
    checkValue(value);
    const now = this.now();
    await this.write(async (trx) => {
      const existing = await this.lockSecret(trx, p);
      if (existing && !existing.deleted_at) return;
      const id = existing?.id ?? this.deps.ids.next('sec');
      const version = existing ? existing.current_version + 1 : 1;
      const sealed = this.deps.cipher.encrypt(value, p.path, version);
      if (existing) {
        await trx.updateTable('secrets').set({ current_version: version, updated_at: now, updated_by: actor, deleted_at: null, deleted_by: null }).where('id', '=', id).execute();
      } else {
        await trx.insertInto('secrets').values({
          id, env: p.env, service: p.service, key: p.key, current_version: 1, created_at: now, created_by: actor, updated_at: now, updated_by: actor, deleted_at: null, deleted_by: null,
        }).execute();
      }
      await trx.insertInto('secret_versions').values({ secret_id: id, version, ciphertext: sealed.ciphertext, wrapped_key: sealed.wrappedKey, key_id: sealed.keyId, created_at: now, created_by: actor }).execute();
      await this.bumpScope(trx, p.env, p.service, now);
      await this.deps.audit.append({ actor, action: 'secret:write', target: `secret:${p.path}`, decision: 'allow', requestId: 'system', details: { version, seed: true } }, trx);
    });
  }

  /** Decrypts one version; an integrity failure is audited (as an error) before it is thrown. */
  private async open(actor: string, requestId: string, path: string, v: { ciphertext: string; wrapped_key: string; key_id: string; version: number }, details: Record<string, unknown>): Promise<string> {
    try {
      return this.deps.cipher.decrypt({ ciphertext: v.ciphertext, wrappedKey: v.wrapped_key, keyId: v.key_id }, path, Number(v.version));
    } catch (err) {
      if (err instanceof IdpError) {
        await this.deps.audit.append({ actor, action: 'secret:read', target: `secret:${path}`, decision: 'error', requestId, details: { ...details, code: err.code, version: Number(v.version) } });
      }
      throw err;
    }
  }

  private now(): string {
    return this.deps.clock.now().toISOString();
  }

  private findSecret(db: Kysely<Database> | Transaction<Database>, p: SecretPath): Promise<SecretRow | undefined> {
    return db.selectFrom('secrets').selectAll().where('env', '=', p.env).where('service', '=', p.service).where('key', '=', p.key).executeTakeFirst();
  }

  private async lockSecret(trx: Transaction<Database>, p: SecretPath): Promise<SecretRow | undefined> {
    const q = trx.selectFrom('secrets').selectAll().where('env', '=', p.env).where('service', '=', p.service).where('key', '=', p.key);
    const row = await (this.deps.dialect === 'postgres' ? q.forUpdate() : q).executeTakeFirst();
    return row ? { ...row, current_version: Number(row.current_version) } : undefined;
  }

  private async bumpScope(trx: Transaction<Database>, env: string, service: string, now: string): Promise<void> {
    await trx.insertInto('secret_scopes').values({ env, service, revision: 1, updated_at: now })
      .onConflict((oc) => oc.columns(['env', 'service']).doUpdateSet({ revision: sql`secret_scopes.revision + 1`, updated_at: now }))
      .execute();
  }

  /** Two writers creating the same path at once: one wins, the other is told to retry. */
  private async write<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    try {
      return await this.deps.db.transaction().execute(fn);
    } catch (err) {
      if (!(err instanceof IdpError) && /unique|duplicate key/i.test((err as Error).message)) {
        throw new IdpError('CONFLICT', 'the secret was changed at the same moment by another request', { hint: 'Run the command again.' });
      }
      throw err;
    }
  }
}

function scopeOf(env: string, service: string): SecretScope {
  return { env, service, key: '*', path: `${env}/${service}/*` };
}

function checkValue(value: string): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw new IdpError('VALIDATION_FAILED', 'value: the value is empty', { field: 'value', hint: 'Pipe the value on stdin or use --from-file.' });
  }
}

function notFound(path: string, row: SecretRow | undefined, version: number | undefined): IdpError {
  if (row && version !== undefined) {
    return new IdpError('SECRET_NOT_FOUND', `secret ${path} has no version ${version} (current: ${row.current_version})`, { path, hint: `Run \`idp secret:versions ${path}\`.` });
  }
  if (row?.deleted_at) {
    return new IdpError('SECRET_NOT_FOUND', `secret ${path} was deleted at ${row.deleted_at} by ${row.deleted_by}`, {
      path, hint: `Its versions are kept: \`idp secret:versions ${path}\`; set it again with \`idp secret:set ${path}\`.`,
    });
  }
  return new IdpError('SECRET_NOT_FOUND', `no secret at ${path}`, { path });
}

function toMeta(row: SecretRow): SecretMeta {
  return {
    path: `${row.env}/${row.service}/${row.key}`, env: row.env, service: row.service, key: row.key, version: Number(row.current_version),
    createdAt: row.created_at, createdBy: row.created_by, updatedAt: row.updated_at, updatedBy: row.updated_by,
  };
}
