import type {
  CreateWorkloadTokenRequest,
  SecretListQuery,
  SecretMeta,
  SecretValue,
  SecretVersionList,
  WorkloadToken,
} from '@idp/contracts';
import type { Decision } from '@idp/core';
import type { RequestContext } from '../../auth/context.ts';
import type { SecretsDeps } from './deps.ts';
import { authorizeWithGrant } from './grants.ts';
import { checkScope, parseSecretPath } from './paths.ts';
import { PlatformSecrets } from './platform.ts';
import type { SecretResources } from './resources.ts';
import { SecretStore, checkValue, notFound, scopeOf, toMeta, type SecretRow } from './store.ts';
import { VaultReads, type AnonymousVaultRead, type VaultSecret } from './vault.ts';
import { WorkloadTokens } from './workload-tokens.ts';

export type { SecretsDeps } from './deps.ts';
export type { GrantInfo, GrantLookup } from './grants.ts';
export { VaultError, type VaultSecret } from './vault.ts';
export { hashWorkloadToken } from './workload-tokens.ts';

/**
 * The secret store: encrypted, versioned values at <env>/<service>/<KEY>. Every call follows
 * validate → authorize (Cedar, with the caller's grant in the context) → change + audit in one
 * transaction. Values exist in plaintext only in the request being served: never in a row, a
 * log line, an audit record or an error.
 *
 * This class is the values API callers use; workload tokens (workload-tokens.ts), the Vault
 * read path (vault.ts) and what the platform itself does with secrets (platform.ts) are their
 * own parts, reached through it.
 */
export class SecretsService {
  /** Listing and revoking workload tokens, and the creator check of every Vault read. */
  readonly tokens: WorkloadTokens;
  private readonly store: SecretStore;
  private readonly vault: VaultReads;
  private readonly platform: PlatformSecrets;

  constructor(private readonly deps: SecretsDeps) {
    deps.resources.registerWith(deps.gate);
    this.store = new SecretStore(deps);
    this.tokens = new WorkloadTokens(deps, this.store);
    this.vault = new VaultReads(deps, this.store, this.tokens);
    this.platform = new PlatformSecrets(deps, this.store);
  }

  get resources(): SecretResources {
    return this.deps.resources;
  }

  async set(ctx: RequestContext, pathText: string, value: string): Promise<SecretMeta> {
    const p = parseSecretPath(pathText);
    checkValue(value);
    const resolved = await this.deps.resources.resolve(p);
    const decision = await this.deps.gate.enforce(ctx, { action: 'secret:write', resource: resolved.entity });
    const now = this.store.now();
    const actor = ctx.principal.ref;
    const row = await this.store.write(async (trx) => {
      const existing = await this.store.lock(trx, p);
      const version = existing ? existing.current_version + 1 : 1;
      let next: SecretRow;
      if (existing) {
        next = {
          ...existing,
          current_version: version,
          updated_at: now,
          updated_by: actor,
          deleted_at: null,
          deleted_by: null,
        };
        await this.store.setCurrent(trx, existing.id, version, actor, now);
      } else {
        next = await this.store.insertSecret(trx, p.env, p.service, p.key, actor, now);
      }
      await this.store.insertVersion(trx, next.id, p.path, version, value, actor, now);
      await this.store.bumpScope(trx, p.env, p.service, now);
      await this.deps.audit.append(
        {
          actor,
          action: 'secret:write',
          target: `secret:${p.path}`,
          decision: 'allow',
          policyIds: decision.permittedBy,
          requestId: ctx.requestId,
          details: { version, created: !existing },
        },
        trx,
      );
      return next;
    });
    return toMeta(row);
  }

  async get(ctx: RequestContext, pathText: string, version?: number): Promise<SecretValue> {
    const p = parseSecretPath(pathText);
    const resolved = await this.deps.resources.resolve(p);
    const grant = await this.deps.grants.grantFor(ctx.principal.ref, p.env, p.service, p.key);
    const decision = await authorizeWithGrant(this.deps, ctx, 'secret:read', resolved, p, grant, {});
    const target = `secret:${p.path}`;
    const row = await this.store.find(this.deps.db, p);
    const wanted = version ?? row?.current_version;
    const v =
      row && wanted !== undefined && (version !== undefined || !row.deleted_at)
        ? await this.store.version(this.deps.db, row.id, wanted)
        : undefined;
    if (!row || !v) {
      const err = notFound(p.path, row, version);
      await this.deps.audit.append({
        actor: ctx.principal.ref,
        action: 'secret:read',
        target,
        decision: 'error',
        policyIds: decision.permittedBy,
        requestId: ctx.requestId,
        details: { code: err.code, ...(version ? { version } : {}) },
      });
      throw err;
    }
    const value = await this.store.open(ctx.principal.ref, ctx.requestId, p.path, v, { via: 'api' });
    await this.deps.audit.append({
      actor: ctx.principal.ref,
      action: 'secret:read',
      target,
      decision: 'allow',
      policyIds: decision.permittedBy,
      requestId: ctx.requestId,
      details: {
        version: v.version,
        via: 'api',
        ...(grant.active ? { grant: grant.active.id, grantReason: grant.active.reason } : {}),
      },
    });
    return {
      path: p.path,
      env: p.env,
      service: p.service,
      key: p.key,
      version: v.version,
      value,
      createdAt: row.created_at,
      createdBy: row.created_by,
      versionCreatedAt: v.created_at,
      versionCreatedBy: v.created_by,
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
    let query = this.deps.db
      .selectFrom('secrets')
      .selectAll()
      .where('deleted_at', 'is', null)
      .orderBy('env')
      .orderBy('service')
      .orderBy('key');
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
      const d = resolved
        ? this.deps.gate.decide(ctx.principal.ref, { action: 'secret:list', resource: resolved.entity })
        : null;
      allowed.set(k, d && d.decision === 'allow' ? d : null);
      for (const id of d?.decision === 'allow' ? d.permittedBy : []) policyIds.add(id);
    }
    const items = rows.filter((r) => allowed.get(`${r.env}/${r.service}`)).map(toMeta);
    await this.deps.audit.append({
      actor: ctx.principal.ref,
      action: 'secret:list',
      target: `secret:${q.env ?? '*'}/${q.service ?? '*'}/*`,
      decision: 'allow',
      policyIds: [...policyIds].sort(),
      requestId: ctx.requestId,
      details: { count: items.length, ...(q.env ? { env: q.env } : {}), ...(q.service ? { service: q.service } : {}) },
    });
    return items;
  }

  async versions(ctx: RequestContext, pathText: string): Promise<SecretVersionList> {
    const p = parseSecretPath(pathText);
    const resolved = await this.deps.resources.resolve(p);
    const decision = await this.deps.gate.enforce(ctx, { action: 'secret:list', resource: resolved.entity });
    const row = await this.store.find(this.deps.db, p);
    if (!row) throw notFound(p.path, undefined, undefined);
    const versions = await this.deps.db
      .selectFrom('secret_versions')
      .select(['version', 'created_at', 'created_by'])
      .where('secret_id', '=', row.id)
      .orderBy('version', 'desc')
      .execute();
    await this.deps.audit.append({
      actor: ctx.principal.ref,
      action: 'secret:list',
      target: `secret:${p.path}`,
      decision: 'allow',
      policyIds: decision.permittedBy,
      requestId: ctx.requestId,
      details: { versions: versions.length },
    });
    return {
      path: p.path,
      deletedAt: row.deleted_at,
      items: versions.map((v) => ({
        version: Number(v.version),
        createdAt: v.created_at,
        createdBy: v.created_by,
        current: !row.deleted_at && Number(v.version) === row.current_version,
      })),
    };
  }

  /** Marks the secret deleted; its versions stay (an admin can still read an old one with --version). */
  async delete(ctx: RequestContext, pathText: string): Promise<SecretMeta> {
    const p = parseSecretPath(pathText);
    const resolved = await this.deps.resources.resolve(p);
    const decision = await this.deps.gate.enforce(ctx, { action: 'secret:delete', resource: resolved.entity });
    const now = this.store.now();
    const row = await this.store.write(async (trx) => {
      const existing = await this.store.lock(trx, p);
      if (!existing || existing.deleted_at) throw notFound(p.path, existing, undefined);
      await trx
        .updateTable('secrets')
        .set({ deleted_at: now, deleted_by: ctx.principal.ref })
        .where('id', '=', existing.id)
        .execute();
      await this.store.bumpScope(trx, p.env, p.service, now);
      await this.deps.audit.append(
        {
          actor: ctx.principal.ref,
          action: 'secret:delete',
          target: `secret:${p.path}`,
          decision: 'allow',
          policyIds: decision.permittedBy,
          requestId: ctx.requestId,
          details: { version: existing.current_version },
        },
        trx,
      );
      return existing;
    });
    return toMeta(row);
  }

  // --- the other parts, under the names callers already use -------------------------------

  /** See WorkloadTokens.create. */
  createToken(ctx: RequestContext, req: CreateWorkloadTokenRequest): Promise<WorkloadToken> {
    return this.tokens.create(ctx, req);
  }

  /**
   * Vault KV v2 read of every current secret of one environment and service (see VaultReads).
   * `anonymous`, when given, takes the requests with no token or one idp never issued (the
   * route's rate limit, which collapses their audit rows) instead of one audit row each.
   */
  vaultRead(
    token: string | undefined,
    env: string,
    service: string,
    requestId: string,
    anonymous?: AnonymousVaultRead,
  ): Promise<VaultSecret> {
    return this.vault.read(token, env, service, requestId, anonymous);
  }

  copyEnvironment(from: string, to: string, actor: string, requestId: string): Promise<number> {
    return this.platform.copyEnvironment(from, to, actor, requestId);
  }

  /** The base's secret names with placeholder values (PlatformSecrets.placeholderEnvironment). */
  placeholderEnvironment(
    from: string,
    to: string,
    values: Record<string, string>,
    fallback: string,
    actor: string,
    requestId: string,
  ): Promise<number> {
    return this.platform.placeholderEnvironment(from, to, values, fallback, actor, requestId);
  }

  purgeEnvironment(env: string, actor: string, requestId: string): Promise<number> {
    return this.platform.purgeEnvironment(env, actor, requestId);
  }

  valuesFor(env: string, service: string): Promise<Record<string, string>> {
    return this.platform.valuesFor(env, service);
  }

  countEnvironment(env: string): Promise<number> {
    return this.platform.countEnvironment(env);
  }

  setAsSystem(actor: string, pathText: string, value: string): Promise<void> {
    return this.platform.setAsSystem(actor, pathText, value);
  }
}
