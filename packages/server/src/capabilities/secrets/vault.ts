import { IdpError } from '@idp/contracts';
import type { SecretsDeps } from './deps.ts';
import type { SecretStore } from './store.ts';
import { hashWorkloadToken, type WorkloadTokens } from './workload-tokens.ts';

/** A failure answered in Vault's shape ({"errors": […]}) instead of idp's envelope. */
export class VaultError extends Error {
  constructor(
    readonly status: number,
    readonly errors: string[],
  ) {
    super(errors[0] ?? `HTTP ${status}`);
  }
}

export interface VaultSecret {
  data: Record<string, string>;
  metadata: { created_time: string; custom_metadata: null; deletion_time: string; destroyed: boolean; version: number };
}

/** Takes the requests with no token or one idp never issued, instead of one audit row each. */
export type AnonymousVaultRead = (code: 'UNAUTHENTICATED' | 'TOKEN_INVALID', why: string) => Promise<never>;

/**
 * The Vault KV v2 read path: every current secret of one environment and service, for a
 * workload token scoped to exactly that and whose creator may still issue it.
 */
export class VaultReads {
  constructor(
    private readonly deps: Pick<SecretsDeps, 'db' | 'audit'>,
    private readonly store: SecretStore,
    private readonly tokens: WorkloadTokens,
  ) {}

  /** Failures are VaultErrors (Vault's shapes); all are audited. */
  async read(
    token: string | undefined,
    env: string,
    service: string,
    requestId: string,
    anonymous?: AnonymousVaultRead,
  ): Promise<VaultSecret> {
    const target = `secret:${env}/${service}/*`;
    const deny = async (actor: string, why: string, details: Record<string, unknown> = {}): Promise<never> => {
      await this.deps.audit.append({
        actor,
        action: 'secret:read',
        target,
        decision: 'deny',
        requestId,
        details: { via: 'vault', reason: why, ...details },
      });
      throw new VaultError(403, ['permission denied']);
    };
    if (!token)
      return anonymous ? anonymous('UNAUTHENTICATED', 'no X-Vault-Token') : deny('anonymous', 'no X-Vault-Token');
    const row = await this.deps.db
      .selectFrom('workload_tokens')
      .selectAll()
      .where('token_hash', '=', hashWorkloadToken(token))
      .executeTakeFirst();
    if (!row)
      return anonymous
        ? anonymous('TOKEN_INVALID', 'the token is not a workload token idp issued')
        : deny('anonymous', 'the token is not a workload token idp issued');
    const actor = `workload:${row.id}`;
    const now = this.store.now();
    if (row.revoked_at) return deny(actor, `the token was revoked at ${row.revoked_at}`);
    if (row.expires_at <= now) return deny(actor, `the token expired at ${row.expires_at}`);
    if (row.env !== env || row.service !== service)
      return deny(actor, `the token is scoped to ${row.env}/${row.service}`);
    // The token carries its creator's access: re-decided on every use, so it ends with it.
    const lost = await this.tokens.creatorLostAccess(row);
    if (lost) {
      if (lost.revoke) await this.tokens.revokeForLostAccess(row, lost.reason, requestId);
      return deny(actor, lost.reason, {
        tokenCreatedBy: row.created_by,
        ...(row.grant_id ? { grant: row.grant_id } : {}),
      });
    }

    const rows = await this.deps.db
      .selectFrom('secrets as s')
      .innerJoin('secret_versions as v', (j) =>
        j.onRef('v.secret_id', '=', 's.id').onRef('v.version', '=', 's.current_version'),
      )
      .select([
        's.key',
        's.current_version',
        'v.ciphertext',
        'v.wrapped_key',
        'v.key_id',
        'v.created_at',
        'v.created_by',
        'v.secret_id',
        'v.version',
      ])
      .where('s.env', '=', env)
      .where('s.service', '=', service)
      .where('s.deleted_at', 'is', null)
      .orderBy('s.key')
      .execute();
    if (rows.length === 0) {
      await this.deps.audit.append({
        actor,
        action: 'secret:read',
        target,
        decision: 'error',
        requestId,
        details: { via: 'vault', code: 'SECRET_NOT_FOUND', tokenCreatedBy: row.created_by },
      });
      throw new VaultError(404, []);
    }
    const data: Record<string, string> = {};
    for (const r of rows) {
      try {
        data[r.key] = await this.store.open(actor, requestId, `${env}/${service}/${r.key}`, r, { via: 'vault' });
      } catch (err) {
        throw new VaultError(500, [err instanceof IdpError ? err.message : 'internal error']);
      }
    }
    const scope = await this.deps.db
      .selectFrom('secret_scopes')
      .selectAll()
      .where('env', '=', env)
      .where('service', '=', service)
      .executeTakeFirst();
    await this.tokens.touch(row.id);
    await this.deps.audit.append({
      actor,
      action: 'secret:read',
      target,
      decision: 'allow',
      requestId,
      details: {
        via: 'vault',
        keys: rows.map((r) => r.key),
        tokenCreatedBy: row.created_by,
        ...(row.grant_id ? { grant: row.grant_id } : {}),
      },
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
}
