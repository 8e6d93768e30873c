import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHostileServer, type HostileServer } from '../support/security.ts';
import { api } from '../support/server.ts';

/**
 * Issue 10, item 10: requests with no or a bad token wrote one audit row each (3,000 rows in
 * 3 s) and nothing limited them. Now, per client address, a token bucket (auth.rateLimit:
 * burst 20, then 60 a minute) answers the rest 429 RATE_LIMITED with Retry-After, and the audit
 * log collapses them: the first denial of each code, one row when the limiter trips, one
 * summary with the counts when the window ends or the server stops. A valid token is never
 * limited, even from the flooding address. Vault reads with no or a bogus workload token share
 * the bucket (answered in Vault's shape).
 */
describe('security 10: an unauthenticated flood is rate limited and collapsed in the audit log', () => {
  let server: HostileServer;
  let dataDir = '';
  let alice = '';
  const N = 3000;
  const BATCH = 100;
  const VAULT = 100;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'idp-sec10-'));
    server = await startHostileServer({ dataDir });
    alice = await server.tokenFor('alice');
  }, 60_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const headSeq = async () => (await api(server, server.adminToken, 'GET', '/api/audit/verify')).json.headSeq as number;

  it('answers the flood 429 with Retry-After after the burst, adds a handful of audit rows, and keeps serving alice', async () => {
    const before = await headSeq();
    const started = Date.now();
    const statuses: Record<number, number> = {};
    const limited: { retryAfter: string | null; body: any }[] = [];
    let floodDone = false;
    // Alice, from the same address, all through the flood.
    const aliceRuns = (async () => {
      const seen: number[] = [];
      while (!floodDone) seen.push((await api(server, alice, 'GET', '/api/whoami')).status);
      return seen;
    })();
    for (let i = 0; i < N; i += BATCH) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(BATCH, N - i) }, async (_, j) => {
          const n = i + j;
          const headers: Record<string, string> = { 'x-forwarded-for': `10.${n % 250}.0.1` }; // not trusted: cannot pick another bucket
          if (n % 2) headers.authorization = `Bearer idp_bogus${n}`;
          const res = await fetch(`${server.url}/api/whoami`, { headers });
          return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
        }),
      );
      for (const r of batch) {
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (r.status === 429) limited.push(r);
      }
    }
    floodDone = true;
    const aliceSeen = await aliceRuns;
    const seconds = (Date.now() - started) / 1000;

    // Only 401s and 429s; at most the burst plus what refilled (60/min) got past to a 401.
    expect(Object.keys(statuses).sort()).toEqual(['401', '429']);
    expect(statuses[401]).toBeGreaterThanOrEqual(20);
    expect(statuses[401]).toBeLessThanOrEqual(20 + Math.ceil(seconds) + 1);
    expect(statuses[429]).toBe(N - statuses[401]!);
    for (const r of limited) {
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(r.body.error.code).toBe('RATE_LIMITED');
    }
    expect(limited[0]!.body.error.details.retryAfterSeconds).toBe(Number(limited[0]!.retryAfter));
    expect(JSON.stringify(limited[0]!.body)).not.toMatch(/idp_bogus/);

    // Alice was served every time, however busy the flood kept her address.
    expect(aliceSeen.length).toBeGreaterThan(0);
    expect(new Set(aliceSeen)).toEqual(new Set([200]));

    // Vault reads (workload tokens, a public route) count against the same bucket: Vault's shape, 429.
    const vault = await Promise.all(
      Array.from({ length: VAULT }, async (_, n) => {
        const res = await fetch(`${server.url}/v1/secret/data/staging/payments-api`, {
          headers: n % 2 ? { 'x-vault-token': `idpw_bogus${n}` } : {},
        });
        return { status: res.status, retryAfter: res.headers.get('retry-after'), body: (await res.json()) as any };
      }),
    );
    // What refilled since (one a second) is answered as before: Vault's 403.
    expect(vault.filter((r) => r.status === 403).length).toBeLessThanOrEqual(3);
    for (const r of vault.filter((x) => x.status !== 403)) {
      expect(r.status).toBe(429);
      expect(Number(r.retryAfter)).toBeGreaterThanOrEqual(1);
      expect(r.body.errors[0]).toMatch(/^rate limited/);
    }

    // The first denial of each code (UNAUTHENTICATED, TOKEN_INVALID) and the trip: not 3,000 rows.
    const after = await headSeq();
    expect(after - before).toBeGreaterThanOrEqual(3);
    expect(after - before).toBeLessThanOrEqual(6);
    const trips = (await api(server, server.adminToken, 'GET', '/api/audit?action=auth:rate-limit')).json.items;
    expect(trips).toHaveLength(1);
    expect(trips[0]).toMatchObject({ actor: 'anonymous', decision: 'deny', details: { client: '127.0.0.1' } });
    expect(await server.alive()).toBe(true);
    console.log(
      `security 10: ${N} unauthenticated requests in ${seconds.toFixed(1)}s: ${statuses[401]} x 401, ${statuses[429]} x 429; ${after - before} audit rows; alice served ${aliceSeen.length} times`,
    );
  });

  it('writes one summary row with the counts when the window ends (here: the server stops)', async () => {
    await server.stop();
    const db = new Database(join(dataDir, 'idp.sqlite'), { readonly: true });
    try {
      const rows = db
        .prepare("select details from audit_log where action = 'auth:authenticate' and target = 'client:127.0.0.1'")
        .all() as { details: string }[];
      expect(rows).toHaveLength(1);
      const summary = JSON.parse(rows[0]!.details);
      expect(summary).toMatchObject({ summary: true, client: '127.0.0.1', denied: N + VAULT });
      expect(summary.rateLimited).toBeGreaterThan(N + VAULT - 100);
      expect(summary.codes).toEqual({ UNAUTHENTICATED: (N + VAULT) / 2, TOKEN_INVALID: (N + VAULT) / 2 });
      expect((db.prepare('select count(*) as n from audit_log').get() as { n: number }).n).toBeLessThan(30);
    } finally {
      db.close();
    }
  });
});
