import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { api, startTestServer, type TestServer } from '../support/server.ts';

describe('control plane API', () => {
  let server: TestServer;
  let now = Date.parse('2026-11-20T10:00:00Z');
  let aliceToken: string;
  let aliceTokenId: string;

  beforeAll(async () => {
    server = await startTestServer({ clock: { now: () => new Date(now) } });
    const res = await api(server, server.adminToken, 'POST', '/api/tokens', { user: 'alice@company.com', ttl: '1h' });
    expect(res.status).toBe(201);
    aliceToken = res.json.token;
    aliceTokenId = res.json.id;
  });
  afterAll(async () => server?.stop());

  it('answers health and readiness without a token, with a request id', async () => {
    const h = await api(server, null, 'GET', '/healthz');
    expect(h.status).toBe(200);
    expect(h.json).toEqual({ status: 'ok' });
    expect(h.headers.get('x-request-id')).toMatch(/^req_/);
    const r = await fetch(`${server.url}/readyz`, { headers: { 'x-request-id': 'trace-123' } });
    expect(r.headers.get('x-request-id')).toBe('trace-123');
    expect(await r.json()).toMatchObject({ status: 'ready', checks: { store: { ok: true } } });
  });

  it('rejects a request without a token with 401 UNAUTHENTICATED and audits it', async () => {
    const res = await api(server, null, 'GET', '/api/whoami');
    expect(res.status).toBe(401);
    expect(res.json.error).toMatchObject({ code: 'UNAUTHENTICATED', requestId: res.headers.get('x-request-id') });
    expect(res.json.error.details.hint).toMatch(/idp login/);
    const bad = await api(server, 'idp_not-a-real-token', 'GET', '/api/whoami');
    expect(bad.status).toBe(401);
    expect(bad.json.error.code).toBe('TOKEN_INVALID');
    const audit = await api(server, server.adminToken, 'GET', '/api/audit?action=auth:authenticate');
    expect(audit.json.items.map((r: any) => r.details.code)).toEqual(
      expect.arrayContaining(['UNAUTHENTICATED', 'TOKEN_INVALID']),
    );
  });

  it('tells the bootstrap admin and a team member who they are', async () => {
    const admin = await api(server, server.adminToken, 'GET', '/api/whoami');
    expect(admin.json).toMatchObject({
      ref: 'user:default/idp-admin',
      roles: ['admin', 'member'],
      teams: ['platform'],
    });
    const alice = await api(server, aliceToken, 'GET', '/api/whoami');
    expect(alice.json).toMatchObject({
      ref: 'user:default/alice',
      email: 'alice@company.com',
      teams: ['engineering', 'payments'],
      roles: ['member'],
      tokenId: aliceTokenId,
    });
  });

  it('makes platform team members admins through the catalog', async () => {
    const res = await api(server, server.adminToken, 'POST', '/api/tokens', { user: 'user:default/frank' });
    const frank = await api(server, res.json.token, 'GET', '/api/whoami');
    expect(frank.json).toMatchObject({ teams: ['engineering', 'platform'], roles: ['admin', 'member'] });
    // Default TTL from the config: 30 days.
    expect(Date.parse(res.json.expiresAt) - now).toBe(30 * 86400_000);
  });

  it('denies token:create to a non-admin with POLICY_DENIED, the reason, and an audit record', async () => {
    const res = await api(server, aliceToken, 'POST', '/api/tokens', { user: 'bob@company.com' });
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe('POLICY_DENIED');
    expect(res.json.error.message).toMatch(/token:create/);
    expect(res.json.error.details.reason).toMatch(/no policy permits/);
    const audit = await api(server, server.adminToken, 'GET', '/api/audit?actor=alice@company.com&decision=deny');
    expect(audit.json.items[0]).toMatchObject({
      actor: 'user:default/alice',
      action: 'token:create',
      decision: 'deny',
      requestId: res.headers.get('x-request-id'),
    });
  });

  it('gives bad input a clear error with a code and the field', async () => {
    const cases: [unknown, number, string, string | undefined][] = [
      [{}, 400, 'VALIDATION_FAILED', 'user'],
      [{ user: 42 }, 400, 'VALIDATION_FAILED', 'user'],
      [{ user: 'alice@company.com', ttl: '2x' }, 400, 'VALIDATION_FAILED', 'ttl'],
      [{ user: 'alice@company.com', extra: 1 }, 400, 'VALIDATION_FAILED', undefined],
      [{ user: 'nobody@company.com' }, 404, 'USER_NOT_FOUND', 'user'],
      ['{"user": ', 400, 'INVALID_JSON', 'body'],
    ];
    for (const [body, status, code, field] of cases) {
      const res = await api(server, server.adminToken, 'POST', '/api/tokens', body);
      expect({ status: res.status, code: res.json?.error?.code }).toEqual({ status, code });
      if (field) expect(res.json.error.details.field).toBe(field);
      expect(res.text).not.toMatch(/at .*\.ts:\d+/); // never a stack trace
    }
    const unknown = await api(server, server.adminToken, 'GET', '/api/nope');
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.code).toBe('NOT_FOUND');
  });

  it('stores tokens only as hashes', async () => {
    const db = readFileSync(join(server.dataDir, 'idp.sqlite'));
    expect(db.includes(Buffer.from(aliceToken))).toBe(false);
  });

  it('lets a user list and revoke their own tokens, but not see others', async () => {
    const mine = await api(server, aliceToken, 'GET', '/api/tokens');
    expect(mine.json.items.map((t: any) => t.user)).toEqual(['user:default/alice']);
    const bobs = await api(server, server.adminToken, 'POST', '/api/tokens', { user: 'bob@company.com' });
    const peek = await api(server, aliceToken, 'DELETE', `/api/tokens/${bobs.json.id}`);
    expect(peek.status).toBe(404);
    expect(peek.json.error.code).toBe('TOKEN_NOT_FOUND');
    const all = await api(server, server.adminToken, 'GET', '/api/tokens');
    expect(all.json.items.length).toBeGreaterThanOrEqual(3);

    const spare = await api(server, server.adminToken, 'POST', '/api/tokens', { user: 'alice@company.com' });
    const revoked = await api(server, aliceToken, 'DELETE', `/api/tokens/${spare.json.id}`);
    expect(revoked.status).toBe(200);
    expect(revoked.json.status).toBe('revoked');
    const after = await api(server, spare.json.token, 'GET', '/api/whoami');
    expect(after.status).toBe(401);
    expect(after.json.error.code).toBe('TOKEN_REVOKED');
    const twice = await api(server, aliceToken, 'DELETE', `/api/tokens/${spare.json.id}`);
    expect(twice.status).toBe(409);
    expect(twice.json.error.code).toBe('TOKEN_ALREADY_REVOKED');
  });

  it('explains policy decisions', async () => {
    const deny = await api(server, aliceToken, 'POST', '/api/policy/check', {
      principal: 'user:alice@company.com',
      action: 'token:create',
      resource: 'platform:idp',
    });
    expect(deny.status).toBe(200);
    expect(deny.json).toMatchObject({ decision: 'deny', principal: 'user:default/alice', permittedBy: [] });
    const allow = await api(server, aliceToken, 'POST', '/api/policy/check', {
      principal: 'frank@company.com',
      action: 'token:create',
      resource: 'platform:idp',
    });
    expect(allow.json.decision).toBe('allow');
    expect(allow.json.permittedBy).toEqual(['admins/platform-admins-all']);
    const badRef = await api(server, aliceToken, 'POST', '/api/policy/check', {
      principal: 'user:alice@company.com',
      action: 'token:create',
      resource: 'nonsense',
    });
    expect(badRef.status).toBe(400);
    expect(badRef.json.error.details.field).toBe('resource');
  });

  it('keeps a hash-chained audit log that detects tampering', async () => {
    const list = await api(server, server.adminToken, 'GET', '/api/audit?action=token:*&limit=500');
    expect(list.json.items.length).toBeGreaterThan(3);
    expect(list.json.items[0].seq).toBeGreaterThan(list.json.items[1].seq);
    const denied = await api(server, aliceToken, 'GET', '/api/audit');
    expect(denied.status).toBe(403);
    expect((await api(server, server.adminToken, 'GET', '/api/audit/verify')).json).toMatchObject({
      ok: true,
      firstBadSeq: null,
    });
    await sql`update audit_log set decision = 'allow' where seq = 3`.execute(server.services.store.db);
    const v = await api(server, server.adminToken, 'GET', '/api/audit/verify');
    expect(v.json).toMatchObject({ ok: false, firstBadSeq: 3 });
  });

  it('rejects an expired token with TOKEN_EXPIRED', async () => {
    now += 2 * 3600_000;
    const res = await api(server, aliceToken, 'GET', '/api/whoami');
    expect(res.status).toBe(401);
    expect(res.json.error.code).toBe('TOKEN_EXPIRED');
  });
});

describe('policy:check on real resources', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(async () => server?.stop());

  it('loads a token with its owner, so ownership policies explain correctly', async () => {
    const bob = await api(server, server.adminToken, 'POST', '/api/tokens', { user: 'bob@company.com' });
    const own = await api(server, server.adminToken, 'POST', '/api/policy/check', {
      principal: 'bob@company.com',
      action: 'token:revoke',
      resource: `token:${bob.json.id}`,
    });
    expect(own.json).toMatchObject({ decision: 'allow', permittedBy: ['tokens/tokens-own-revoke'], errors: [] });
    const other = await api(server, server.adminToken, 'POST', '/api/policy/check', {
      principal: 'carol@company.com',
      action: 'token:revoke',
      resource: `token:${bob.json.id}`,
    });
    expect(other.json).toMatchObject({ decision: 'deny', errors: [] });
    const unknownAction = await api(server, server.adminToken, 'POST', '/api/policy/check', {
      principal: 'bob@company.com',
      action: 'token:explode',
      resource: 'platform:idp',
    });
    expect(unknownAction.json.decision).toBe('deny');
    expect(unknownAction.json.errors.join(' ')).toMatch(/token:explode/);
  });
});
