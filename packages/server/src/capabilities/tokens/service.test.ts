import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { tempSqliteStore } from '../../../../../test/support/sqlite.ts';
import { policyGate, testDirectory } from '../../../../../test/support/unit-server.ts';
import type { AuditLog } from '../../audit/index.ts';
import type { RequestContext } from '../../auth/context.ts';
import type { Clock } from '../../clock.ts';
import { BOOTSTRAP_ADMIN_REF, type Directory } from '../../identity/index.ts';
import { TokenService, hashToken } from './service.ts';

// API tokens on the real SQLite store, decided by the shipped Cedar policies: what is stored,
// what authenticates, and when a token stops working. The clock is the test's, so expiry is
// exact and no test sleeps.

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';
const ROOT = 'user:default/root';
const ADMIN_TOKEN = 'idp_bootstrap-admin-token-for-tests';

/** Alice and Bob are in payments; root is in the admin group (platform). */
const directory = () => testDirectory('platform', { payments: [ALICE, BOB], platform: [ROOT] });

describe('TokenService on the real SQLite store with the shipped policies', () => {
  const tmp = tempSqliteStore('tokens');
  let now: Date;
  const clock: Clock = { now: () => now };
  let dir: Directory;
  let audit: AuditLog;
  let tokens: TokenService;
  let n = 0;
  const ctx = (ref: string): RequestContext => ({
    principal: tokens.principalFor(ref, null),
    requestId: `req-${++n}`,
  });
  const failure = (p: Promise<unknown>) => p.then(() => undefined).catch((e: unknown) => e as IdpError);

  beforeAll(() => {
    dir = directory();
    const wired = policyGate(tmp.store, dir, clock);
    audit = wired.audit;
    tokens = new TokenService(
      tmp.store.db,
      dir,
      wired.gate,
      audit,
      clock,
      { next: (p) => `${p}_${++n}` },
      ADMIN_TOKEN,
      '30d',
    );
  });
  beforeEach(() => {
    now = new Date('2030-01-01T00:00:00.000Z');
  });

  it('stores only a SHA-256 of the token: the plaintext is in no row, no audit record and not in the database file', async () => {
    const created = await tokens.create(ctx(ROOT), { user: 'default/alice', description: 'laptop' });
    expect(created.token).toMatch(/^idp_[A-Za-z0-9_-]{43}$/);
    expect(created).toMatchObject({
      user: ALICE,
      createdBy: ROOT,
      description: 'laptop',
      status: 'active',
      expiresAt: '2030-01-31T00:00:00.000Z', // the configured default, 30d
    });
    const row = await tmp.store.db
      .selectFrom('api_tokens')
      .selectAll()
      .where('id', '=', created.id)
      .executeTakeFirstOrThrow();
    expect(row.token_hash).toBe(hashToken(created.token));
    expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
    const secretPart = created.token.slice(4);
    expect(JSON.stringify(await tmp.store.db.selectFrom('api_tokens').selectAll().execute())).not.toContain(secretPart);
    expect(JSON.stringify(await audit.list({ limit: 100 }))).not.toContain(secretPart);
    // SQLite keeps recently written pages in its WAL file; neither may hold it.
    const files = readdirSync(tmp.dataDir).filter((f) => f.startsWith('idp.sqlite'));
    expect(files).toContain('idp.sqlite');
    for (const file of files) {
      expect(readFileSync(join(tmp.dataDir, file)).toString('latin1'), file).not.toContain(secretPart);
    }
    // Two tokens for the same user are different secrets.
    const second = await tokens.create(ctx(ROOT), { user: ALICE, ttl: '1h' });
    expect(second.token).not.toBe(created.token);
    expect(second.expiresAt).toBe('2030-01-01T01:00:00.000Z');
  });

  it('authenticates the token to its user with their teams and roles, and records use at most once a minute', async () => {
    const { token, id } = await tokens.create(ctx(ROOT), { user: ALICE });
    const lastUsed = async () =>
      (
        await tmp.store.db
          .selectFrom('api_tokens')
          .select('last_used_at')
          .where('id', '=', id)
          .executeTakeFirstOrThrow()
      ).last_used_at;
    expect(await tokens.authenticate(token)).toMatchObject({
      ref: ALICE,
      email: 'alice@company.com',
      teams: ['payments'],
      roles: ['member'],
      tokenId: id,
    });
    expect(await lastUsed()).toBe('2030-01-01T00:00:00.000Z');
    now = new Date('2030-01-01T00:00:30.000Z');
    await tokens.authenticate(token);
    expect(await lastUsed()).toBe('2030-01-01T00:00:00.000Z');
    now = new Date('2030-01-01T00:01:01.000Z');
    await tokens.authenticate(token);
    expect(await lastUsed()).toBe('2030-01-01T00:01:01.000Z');

    expect(await tokens.authenticate(ADMIN_TOKEN)).toMatchObject({
      ref: BOOTSTRAP_ADMIN_REF,
      roles: ['admin', 'member'],
      tokenId: null,
    });
    const admin = await tokens.create(ctx(ROOT), { user: ROOT });
    expect((await tokens.authenticate(admin.token)).roles).toEqual(['admin', 'member']);
  });

  it('refuses a missing, unknown or altered token with the code that says why', async () => {
    const { token } = await tokens.create(ctx(ROOT), { user: ALICE });
    expect(await failure(tokens.authenticate(undefined))).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await failure(tokens.authenticate(''))).toMatchObject({ code: 'UNAUTHENTICATED' });
    expect(await failure(tokens.authenticate(`${token}x`))).toMatchObject({ code: 'TOKEN_INVALID' });
    expect(await failure(tokens.authenticate(token.slice(0, -1)))).toMatchObject({ code: 'TOKEN_INVALID' });
    // The stored hash is not a token: knowing a row gives no way in.
    const row = await tmp.store.db.selectFrom('api_tokens').select('token_hash').executeTakeFirstOrThrow();
    expect(await failure(tokens.authenticate(row.token_hash))).toMatchObject({ code: 'TOKEN_INVALID' });
  });

  it('a token stops working at its expiry instant, and is listed as expired', async () => {
    const { token, id, expiresAt } = await tokens.create(ctx(ROOT), { user: ALICE, ttl: '2h' });
    expect(expiresAt).toBe('2030-01-01T02:00:00.000Z');
    now = new Date(Date.parse(expiresAt!) - 1);
    expect((await tokens.authenticate(token)).ref).toBe(ALICE);
    now = new Date(expiresAt!);
    const err = await failure(tokens.authenticate(token));
    expect(err).toMatchObject({ code: 'TOKEN_EXPIRED' });
    expect(err!.message).toContain(expiresAt!);
    expect((await tokens.list(ctx(ALICE))).find((t) => t.id === id)?.status).toBe('expired');
  });

  it('a revoked token is refused at once, the revocation is audited, and revoking again says so', async () => {
    const { token, id } = await tokens.create(ctx(ROOT), { user: ALICE });
    const aliceCtx = ctx(ALICE);
    const revoked = await tokens.revoke(aliceCtx, id);
    expect(revoked).toMatchObject({ id, status: 'revoked', revokedAt: now.toISOString() });
    expect(await failure(tokens.authenticate(token))).toMatchObject({ code: 'TOKEN_REVOKED' });
    const [record] = await audit.list({ limit: 1 });
    expect(record).toMatchObject({
      actor: ALICE,
      action: 'token:revoke',
      target: `token:${id}`,
      decision: 'allow',
      policyIds: ['tokens/tokens-own-revoke'],
      requestId: aliceCtx.requestId,
    });
    expect(await failure(tokens.revoke(ctx(ALICE), id))).toMatchObject({
      code: 'TOKEN_ALREADY_REVOKED',
      details: { field: 'id' },
    });
    // Expiry later does not bring it back as "expired": revoked stays revoked.
    now = new Date('2031-01-01T00:00:00.000Z');
    expect(await failure(tokens.authenticate(token))).toMatchObject({ code: 'TOKEN_REVOKED' });
  });

  it("a member cannot see or revoke a teammate's token (reported as missing); an admin can", async () => {
    const { token, id } = await tokens.create(ctx(ROOT), { user: ALICE });
    const before = (await audit.list({ limit: 100 })).length;
    expect(await failure(tokens.revoke(ctx(BOB), id))).toMatchObject({ code: 'TOKEN_NOT_FOUND' });
    expect(await failure(tokens.revoke(ctx(BOB), 'tok_does_not_exist'))).toMatchObject({ code: 'TOKEN_NOT_FOUND' });
    expect((await tokens.list(ctx(BOB))).map((t) => t.id)).not.toContain(id);
    expect((await tokens.authenticate(token)).ref).toBe(ALICE);
    expect((await audit.list({ limit: 100 })).length).toBe(before);

    expect((await tokens.list(ctx(ROOT))).map((t) => t.id)).toContain(id);
    await tokens.revoke(ctx(ROOT), id);
    expect(await failure(tokens.authenticate(token))).toMatchObject({ code: 'TOKEN_REVOKED' });
  });

  it('only admins create tokens: a member is denied (audited, nothing stored); an allowed create is audited with its policy', async () => {
    const count = async () => (await tmp.store.db.selectFrom('api_tokens').select('id').execute()).length;
    const rows = await count();
    const bobCtx = ctx(BOB);
    const err = await failure(tokens.create(bobCtx, { user: BOB }));
    expect(err).toMatchObject({ code: 'POLICY_DENIED', details: { action: 'token:create' } });
    expect(await count()).toBe(rows);
    const [denial] = await audit.list({ limit: 1 });
    expect(denial).toMatchObject({ actor: BOB, action: 'token:create', decision: 'deny', requestId: bobCtx.requestId });

    const rootCtx = ctx(ROOT);
    const made = await tokens.create(rootCtx, { user: BOB, ttl: '1d' });
    const [allow] = await audit.list({ limit: 1 });
    expect(allow).toMatchObject({
      actor: ROOT,
      action: 'token:create',
      target: `token:${made.id}`,
      decision: 'allow',
      policyIds: ['admins/platform-admins-all'],
      requestId: rootCtx.requestId,
      details: { user: BOB, expiresAt: made.expiresAt },
    });
    expect((await audit.verify()).ok).toBe(true);
  });

  it('refuses an unknown user and a bad TTL before storing anything', async () => {
    expect(await failure(tokens.create(ctx(ROOT), { user: 'nobody@company.com' }))).toMatchObject({
      code: 'USER_NOT_FOUND',
      details: { field: 'user' },
    });
    expect(await failure(tokens.create(ctx(ROOT), { user: ALICE, ttl: '5 minutes' }))).toMatchObject({
      code: 'INVALID_DURATION',
      details: { field: 'ttl' },
    });
  });

  it('a token of a user who left the catalog no longer authenticates', async () => {
    const { token } = await tokens.create(ctx(ROOT), { user: BOB });
    const bob = dir.users.get(BOB)!;
    dir.users.delete(BOB);
    try {
      const err = await failure(tokens.authenticate(token));
      expect(err).toMatchObject({ code: 'TOKEN_INVALID' });
      expect(err!.message).toContain('no longer in the catalog');
    } finally {
      dir.users.set(BOB, bob);
    }
  });
});
