import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Kysely } from 'kysely';
import { IdpError, type CreateTokenRequest, type CreatedToken, type Principal, type Token } from '@idp/contracts';
import { parseDuration, shortRef, type CedarEntity } from '@idp/core';
import type { AuditLog } from '../../audit/index.ts';
import type { RequestContext } from '../../auth/context.ts';
import type { Clock, IdSource } from '../../clock.ts';
import { BOOTSTRAP_ADMIN_REF, type Directory } from '../../identity/index.ts';
import { PLATFORM, type PolicyGate } from '../../policy/gate.ts';
import type { Database } from '../../store/index.ts';
import { TokenAuthCache } from './auth-cache.ts';

type TokenRow = Database['api_tokens'];

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Writing last_used_at on every request would turn every read into a write; once a minute is enough. */
const LAST_USED_RESOLUTION_MS = 60_000;

export class TokenService {
  private readonly adminTokenHash: Buffer;
  private readonly authCache: TokenAuthCache;

  constructor(
    private readonly db: Kysely<Database>,
    private readonly directory: Directory,
    private readonly gate: PolicyGate,
    private readonly audit: AuditLog,
    private readonly clock: Clock,
    private readonly ids: IdSource,
    adminToken: string,
    private readonly defaultTtl: string,
  ) {
    this.adminTokenHash = Buffer.from(hashToken(adminToken), 'hex');
    this.authCache = new TokenAuthCache(() => performance.now());
    gate.registerResolver('Token', async (id) => {
      const row = await this.db
        .selectFrom('api_tokens')
        .select(['id', 'user_ref'])
        .where('id', '=', id)
        .executeTakeFirst();
      return row ? this.tokenEntity(row) : undefined;
    });
  }

  private tokenEntity(row: Pick<TokenRow, 'id' | 'user_ref'>): { resource: CedarEntity; related: CedarEntity[] } {
    const owner = this.directory.userEntity(row.user_ref);
    return {
      resource: { uid: { type: 'Token', id: row.id }, attrs: { owner: owner.uid }, parents: [] },
      related: [owner],
    };
  }

  principalFor(userRef: string, tokenId: string | null): Principal {
    const user = this.directory.users.get(userRef);
    const bootstrap = userRef === BOOTSTRAP_ADMIN_REF;
    return {
      ref: userRef,
      name: user?.name ?? shortRef(userRef),
      email: user?.email ?? null,
      displayName: user?.displayName ?? (bootstrap ? 'Bootstrap admin' : null),
      teams: this.directory.teamsOf(userRef),
      roles: this.directory.isAdmin(userRef) || bootstrap ? ['admin', 'member'] : ['member'],
      tokenId,
    };
  }

  /** Resolves a bearer token to its principal; 401 codes say exactly what is wrong with it. */
  async authenticate(token: string | undefined): Promise<Principal> {
    if (!token) {
      throw new IdpError('UNAUTHENTICATED', 'this request needs an API token (Authorization: Bearer <token>)');
    }
    const hash = hashToken(token);
    if (timingSafeEqual(Buffer.from(hash, 'hex'), this.adminTokenHash))
      return this.principalFor(BOOTSTRAP_ADMIN_REF, null);
    // Found valid a moment ago (auth-cache.ts): expiry and catalog membership are checked again below.
    const cached = this.authCache.get(hash);
    const stamp = this.authCache.stamp();
    const row = cached
      ? undefined
      : await this.db.selectFrom('api_tokens').selectAll().where('token_hash', '=', hash).executeTakeFirst();
    if (!cached && !row) throw new IdpError('TOKEN_INVALID', 'the API token is not valid');
    if (row?.revoked_at)
      throw new IdpError('TOKEN_REVOKED', `the API token ${row.id} was revoked at ${row.revoked_at}`);
    const found = cached ?? {
      id: row!.id,
      userRef: row!.user_ref,
      expiresAt: row!.expires_at,
      lastUsedAt: row!.last_used_at,
    };
    const now = this.clock.now();
    if (found.expiresAt && found.expiresAt <= now.toISOString()) {
      throw new IdpError('TOKEN_EXPIRED', `the API token ${found.id} expired at ${found.expiresAt}`);
    }
    if (!this.directory.users.has(found.userRef)) {
      throw new IdpError(
        'TOKEN_INVALID',
        `the API token ${found.id} belongs to ${found.userRef}, who is no longer in the catalog`,
      );
    }
    if (!found.lastUsedAt || now.getTime() - Date.parse(found.lastUsedAt) > LAST_USED_RESOLUTION_MS) {
      await this.db
        .updateTable('api_tokens')
        .set({ last_used_at: now.toISOString() })
        .where('id', '=', found.id)
        .execute();
      found.lastUsedAt = now.toISOString();
    }
    if (row) this.authCache.set(hash, found, stamp);
    return this.principalFor(found.userRef, found.id);
  }

  async create(ctx: RequestContext, req: CreateTokenRequest): Promise<CreatedToken> {
    const ttlSeconds = parseDuration(req.ttl ?? this.defaultTtl, 'ttl');
    const user = this.directory.findUser(req.user);
    if (!user) {
      throw new IdpError('USER_NOT_FOUND', `no user "${req.user}" in the catalog`, {
        field: 'user',
        hint: "Give the user's email (alice@company.com) or entity ref (user:default/alice).",
      });
    }
    const decision = await this.gate.enforce(ctx, {
      action: 'token:create',
      resource: PLATFORM,
      context: { ttlSeconds },
    });
    const now = this.clock.now();
    const secret = `idp_${randomBytes(32).toString('base64url')}`;
    const row: TokenRow = {
      id: this.ids.next('tok'),
      user_ref: user.ref,
      token_hash: hashToken(secret),
      description: req.description ?? null,
      created_at: now.toISOString(),
      created_by: ctx.principal.ref,
      expires_at: new Date(now.getTime() + ttlSeconds * 1000).toISOString(),
      revoked_at: null,
      revoked_by: null,
      last_used_at: null,
    };
    await this.db.transaction().execute(async (trx) => {
      await trx.insertInto('api_tokens').values(row).execute();
      await this.audit.append(
        {
          actor: ctx.principal.ref,
          action: 'token:create',
          target: `token:${row.id}`,
          decision: 'allow',
          policyIds: decision.permittedBy,
          requestId: ctx.requestId,
          details: { user: user.ref, expiresAt: row.expires_at },
        },
        trx,
      );
    });
    return { ...this.toToken(row), token: secret };
  }

  /** Admins see every token; everyone else sees their own. */
  async list(ctx: RequestContext): Promise<Token[]> {
    const all = this.gate.decide(ctx.principal.ref, { action: 'token:list', resource: PLATFORM }).decision === 'allow';
    let q = this.db.selectFrom('api_tokens').selectAll().orderBy('created_at', 'desc').limit(1000);
    if (!all) q = q.where('user_ref', '=', ctx.principal.ref);
    return (await q.execute()).map((r) => this.toToken(r));
  }

  async revoke(ctx: RequestContext, id: string): Promise<Token> {
    const row = await this.db.selectFrom('api_tokens').selectAll().where('id', '=', id).executeTakeFirst();
    const visible =
      row &&
      (row.user_ref === ctx.principal.ref ||
        this.gate.decide(ctx.principal.ref, { action: 'token:list', resource: PLATFORM }).decision === 'allow');
    // A token someone may not see is reported as missing, so ids cannot be probed.
    if (!row || !visible) throw new IdpError('TOKEN_NOT_FOUND', `no API token with id ${id}`, { field: 'id' });
    const { resource, related } = this.tokenEntity(row);
    const decision = await this.gate.enforce(ctx, {
      action: 'token:revoke',
      resource,
      entities: related,
    });
    if (row.revoked_at) {
      throw new IdpError('TOKEN_ALREADY_REVOKED', `the API token ${id} was already revoked at ${row.revoked_at}`, {
        field: 'id',
      });
    }
    const now = this.clock.now().toISOString();
    await this.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('api_tokens')
        .set({ revoked_at: now, revoked_by: ctx.principal.ref })
        .where('id', '=', id)
        .execute();
      await this.audit.append(
        {
          actor: ctx.principal.ref,
          action: 'token:revoke',
          target: `token:${id}`,
          decision: 'allow',
          policyIds: decision.permittedBy,
          requestId: ctx.requestId,
          details: { user: row.user_ref },
        },
        trx,
      );
    });
    this.authCache.forget(id);
    return this.toToken({ ...row, revoked_at: now, revoked_by: ctx.principal.ref });
  }

  private toToken(row: TokenRow): Token {
    const now = this.clock.now().toISOString();
    return {
      id: row.id,
      user: row.user_ref,
      description: row.description,
      createdAt: row.created_at,
      createdBy: row.created_by,
      expiresAt: row.expires_at,
      revokedAt: row.revoked_at,
      lastUsedAt: row.last_used_at,
      status: row.revoked_at ? 'revoked' : row.expires_at && row.expires_at <= now ? 'expired' : 'active',
    };
  }
}
