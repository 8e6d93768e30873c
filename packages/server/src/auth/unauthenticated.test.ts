import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { AuditLog } from '../audit/index.ts';
import { openStore, type Store } from '../store/index.ts';
import { clientKey, TokenBuckets } from './rate-limit.ts';
import { UnauthenticatedGuard } from './unauthenticated.ts';

describe('token buckets', () => {
  it('allows the burst, then one per refill interval, with the wait in whole seconds', () => {
    let t = 0;
    const b = new TokenBuckets({ perMinute: 60, burst: 5 }, () => t);
    for (let i = 0; i < 5; i++) expect(b.take('a').ok).toBe(true);
    expect(b.take('a')).toEqual({ ok: false, retryAfterSeconds: 1 });
    expect(b.take('b').ok).toBe(true); // another client is not affected
    t += 1000;
    expect(b.take('a').ok).toBe(true);
    expect(b.take('a').ok).toBe(false);
  });

  it('bounds the clients it remembers: newcomers past the limit share one bucket', () => {
    const t = 0;
    const b = new TokenBuckets({ perMinute: 1, burst: 1 }, () => t, 3);
    for (const k of ['a', 'b', 'c']) b.take(k);
    expect(b.take('d').ok).toBe(true);
    expect(b.take('e').ok).toBe(false);
    expect(b.size).toBe(4);
  });

  it('keys IPv4, IPv4-mapped IPv6 and IPv6 by /64', () => {
    expect(clientKey('10.1.2.3')).toBe('10.1.2.3');
    expect(clientKey('::ffff:127.0.0.1')).toBe('127.0.0.1');
    expect(clientKey('2001:db8:0:1:aaaa::1')).toBe('2001:db8:0:1::/64');
    expect(clientKey('2001:db8:0:1:bbbb:cccc:dddd:eeee')).toBe('2001:db8:0:1::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey(undefined)).toBe('unknown');
  });
});

describe('unauthenticated guard: collapsed audit rows', () => {
  let store: Store;
  let dir = '';
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'idp-guard-'));
    store = await openStore({ dataDir: dir });
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the first denial per code, one row when the limit trips, and a summary when the window ends', async () => {
    let t = 0;
    const audit = new AuditLog(store.db, { now: () => new Date() }, store.dialect);
    const guard = new UnauthenticatedGuard(
      audit,
      { unauthenticatedPerMinute: 60, burst: 10 },
      () => {},
      60_000,
      () => t,
    );
    const req = (n: number) => ({ ip: '192.0.2.7', method: 'GET', route: '/api/whoami', requestId: `r${n}` });
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, n) =>
        guard.deny(req(n), new IdpError(n % 5 ? 'UNAUTHENTICATED' : 'TOKEN_INVALID', 'x')),
      ),
    );
    expect(answers.filter((a) => a.error.code === 'RATE_LIMITED')).toHaveLength(40);
    const rows = async () => (await audit.list({ limit: 100 })).reverse();
    expect((await rows()).map((r) => `${r.action} ${r.details.code ?? ''}`)).toEqual([
      'auth:authenticate TOKEN_INVALID',
      'auth:authenticate UNAUTHENTICATED',
      'auth:rate-limit ',
    ]);

    t += 30_000;
    await guard.flush(false);
    expect(await rows()).toHaveLength(3); // the window has not ended
    t += 31_000;
    await guard.flush(false);
    const summary = (await rows())[3]!;
    expect(summary).toMatchObject({
      action: 'auth:authenticate',
      target: 'client:192.0.2.7',
      details: { summary: true, denied: 50, rateLimited: 40, codes: { UNAUTHENTICATED: 40, TOKEN_INVALID: 10 } },
    });

    // A new window starts over; close() writes what is pending.
    await guard.deny(req(99), new IdpError('UNAUTHENTICATED', 'x'));
    await guard.deny(req(100), new IdpError('UNAUTHENTICATED', 'x'));
    await guard.close();
    const last = (await rows()).slice(4);
    expect(last.map((r) => r.details.summary ?? r.details.code)).toEqual(['UNAUTHENTICATED', true]);
    expect((await audit.verify()).ok).toBe(true);
  });
});
