import { beforeAll, describe, expect, it } from 'vitest';
import type { IdpError } from '@idp/contracts';
import { tempSqliteStore } from '../../../../../test/support/sqlite.ts';
import { policyGate, testDirectory } from '../../../../../test/support/unit-server.ts';
import type { RequestContext } from '../../auth/context.ts';
import type { Clock } from '../../clock.ts';
import type { Directory } from '../../identity/index.ts';
import { AUTH_CACHE_MS, TokenAuthCache } from './auth-cache.ts';
import { TokenService } from './service.ts';

// Tokens found valid are not read from the store again for AUTH_CACHE_MS; what must still stop a
// token at once does: revocation through the service, expiry, the user leaving the catalog.

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';
const ROOT = 'user:default/root';

describe('TokenService: recently found tokens', () => {
  const tmp = tempSqliteStore('token-cache');
  let now = new Date('2030-01-01T00:00:00.000Z');
  const clock: Clock = { now: () => now };
  let dir: Directory;
  let tokens: TokenService;
  let n = 0;
  const ctx = (ref: string): RequestContext => ({ principal: tokens.principalFor(ref, null), requestId: `r${++n}` });
  const failure = (p: Promise<unknown>) => p.then(() => undefined).catch((e: unknown) => e as IdpError);

  beforeAll(() => {
    dir = testDirectory('platform', { payments: [ALICE, BOB], platform: [ROOT] });
    const wired = policyGate(tmp.store, dir, clock);
    tokens = new TokenService(
      tmp.store.db,
      dir,
      wired.gate,
      wired.audit,
      clock,
      { next: (p) => `${p}_${++n}` },
      'idp_admin-for-tests',
      '30d',
    );
  });

  it('does not read the store for a token it just found valid, and reads it again after AUTH_CACHE_MS', async () => {
    const { token, id } = await tokens.create(ctx(ROOT), { user: ALICE, ttl: '1h' });
    expect((await tokens.authenticate(token)).ref).toBe(ALICE);
    // Changed behind the service's back: the found token stands until the entry is old.
    await tmp.store.db.updateTable('api_tokens').set({ revoked_at: now.toISOString() }).where('id', '=', id).execute();
    expect((await tokens.authenticate(token)).ref).toBe(ALICE);
    await expect
      .poll(async () => (await failure(tokens.authenticate(token)))?.code, {
        timeout: AUTH_CACHE_MS * 3,
        interval: 100,
      })
      .toBe('TOKEN_REVOKED');
  });

  it('a token revoked through the service is refused at once, though it was just used', async () => {
    const { token, id } = await tokens.create(ctx(ROOT), { user: ALICE });
    expect((await tokens.authenticate(token)).tokenId).toBe(id);
    await tokens.revoke(ctx(ALICE), id);
    expect(await failure(tokens.authenticate(token))).toMatchObject({ code: 'TOKEN_REVOKED' });
  });

  it('a just-used token still stops at its expiry instant and when its user leaves the catalog', async () => {
    const { token } = await tokens.create(ctx(ROOT), { user: BOB, ttl: '1h' });
    expect((await tokens.authenticate(token)).ref).toBe(BOB);
    const bob = dir.users.get(BOB)!;
    dir.users.delete(BOB);
    try {
      expect(await failure(tokens.authenticate(token))).toMatchObject({ code: 'TOKEN_INVALID' });
    } finally {
      dir.users.set(BOB, bob);
    }
    expect((await tokens.authenticate(token)).ref).toBe(BOB);
    now = new Date(now.getTime() + 3_600_000);
    expect(await failure(tokens.authenticate(token))).toMatchObject({ code: 'TOKEN_EXPIRED' });
  });
});

describe('TokenAuthCache', () => {
  const token = { id: 'tok_1', userRef: ALICE, expiresAt: null, lastUsedAt: null };

  it('forgets an entry after AUTH_CACHE_MS, and at once when its token is revoked', () => {
    let t = 0;
    const cache = new TokenAuthCache(() => t);
    cache.set('h', token, cache.stamp());
    t = AUTH_CACHE_MS - 1;
    expect(cache.get('h')).toBe(token);
    t = AUTH_CACHE_MS;
    expect(cache.get('h')).toBeUndefined();
    cache.set('h', token, cache.stamp());
    cache.forget('tok_1');
    expect(cache.get('h')).toBeUndefined();
  });

  it('does not remember a lookup that began before a revocation', () => {
    const cache = new TokenAuthCache(() => 0);
    const stamp = cache.stamp();
    // The store was read (not revoked yet), then the token was revoked before the answer was kept.
    cache.forget('tok_1');
    cache.set('h', token, stamp);
    expect(cache.get('h')).toBeUndefined();
  });
});
