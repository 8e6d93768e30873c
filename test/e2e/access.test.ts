import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, startTestServer, type TestServer } from '../support/server.ts';
import {
  acmeWith,
  captureStderr,
  fakeClock,
  findLeaks,
  SecretValues,
  userTokens,
  webhookReceiver,
  type Receiver,
} from './secrets-fixtures.ts';

// Access requests through the real HTTP API: approval by rule for the owning team, the approval
// workflow (with the Slack-compatible webhook received by a local HTTP server) for everyone
// else, every refusal the issue lists, expiry on a fake clock with the sweeper's audit records,
// and the figures of access:stats.

describe('access requests over HTTP', () => {
  const values = new SecretValues();
  const clock = fakeClock(Date.parse('2030-04-01T08:00:00Z'));
  const logs: string[] = [];
  let stderr: ReturnType<typeof captureStderr>;
  let hook: Receiver;
  let org: { dir: string; config: string };
  let server: TestServer;
  let t: Record<string, string>;
  const call = (user: string, method: string, path: string, body?: unknown) =>
    api(server, user === 'admin' ? server.adminToken : t[user]!, method, path, body);
  const request = (user: string, secret: string, reason: string | undefined, duration?: string) =>
    call(user, 'POST', '/api/access/requests', {
      secret,
      ...(reason !== undefined ? { reason } : {}),
      ...(duration ? { duration } : {}),
    });
  const read = (user: string, path: string) => call(user, 'GET', `/api/secrets/${path}`);
  const audit = async (q: string) => (await call('admin', 'GET', `/api/audit?limit=1000&${q}`)).json.items as any[];

  beforeAll(async () => {
    stderr = captureStderr();
    hook = await webhookReceiver();
    org = acmeWith(`access:\n  webhookUrl: ${hook.url}\n  pendingTtl: 24h\n`);
    server = await startTestServer({
      configPath: org.config,
      clock,
      logLevel: 'debug',
      catalogTimer: false,
      log: (l) => logs.push(l),
    });
    t = await userTokens(server, ['alice', 'bob', 'carol', 'dave', 'erin', 'frank']);
    for (const [path, label] of [
      ['production/payments-api/STRIPE_KEY', 'stripe'],
      ['production/payments-api/DB_URL', 'db'],
      ['staging/payments-api/STRIPE_KEY', 'stripe-staging'],
    ]) {
      const res = await call('alice', 'PUT', `/api/secrets/${path}`, { value: values.make(label!) });
      expect(res.status, res.text).toBe(200);
    }
  });
  afterAll(async () => {
    stderr?.restore();
    await server?.stop();
    await hook?.close();
    if (org) rmSync(org.dir, { recursive: true, force: true });
  });

  it('approves the owning team at once, naming the rule and the expiry', async () => {
    const res = await request('alice', 'production/payments-api/STRIPE_KEY', 'INC-123', '2h');
    expect(res.status, res.text).toBe(201);
    expect(res.json).toMatchObject({
      status: 'approved',
      autoApproved: true,
      requester: 'user:default/alice',
      secret: 'production/payments-api/STRIPE_KEY',
      owner: 'group:default/payments',
      reason: 'INC-123',
      durationSeconds: 7200,
      decidedBy: 'policy:access/owners-auto-approve',
      rule: ['access/owners-auto-approve'],
      createdAt: '2030-04-01T08:00:00.000Z',
      decidedAt: '2030-04-01T08:00:00.000Z',
      expiresAt: '2030-04-01T10:00:00.000Z',
    });
    expect((await read('alice', 'production/payments-api/STRIPE_KEY')).json.grant).toBe(res.json.id);
    // A platform admin who does not own the service waits like anyone else.
    expect((await request('frank', 'production/payments-api/DB_URL', 'audit check', '30m')).json.status).toBe(
      'pending',
    );
    await hook.waitFor(1);
    hook.received.length = 0;
  });

  it("sends anyone else's request to the owning team through the webhook, without blocking", async () => {
    hook.failNext(503); // the first delivery fails: the notifier retries with backoff
    const res = await request('dave', 'production/payments-api/STRIPE_KEY', 'INC-124 refunds failing', '1h');
    // The answer came before the retry (which waits 500 ms after the 503): the request never waits for the webhook.
    expect(hook.received.length).toBeLessThan(2);
    expect(res.json).toMatchObject({
      status: 'pending',
      autoApproved: false,
      decidedBy: null,
      expiresAt: null,
      rule: [],
      approvers: ['user:default/alice', 'user:default/bob', 'user:default/carol'],
      pendingUntil: '2030-04-02T08:00:00.000Z',
    });
    await hook.waitFor(2);
    const [first, second] = hook.received;
    expect(first!.body).toEqual(second!.body);
    expect(first!.headers['content-type']).toBe('application/json');
    const msg = second!.body;
    expect(msg.text).toContain(res.json.id);
    expect(msg.text).toContain('dave@company.com');
    expect(msg.text).toContain('production/payments-api/STRIPE_KEY');
    expect(msg.text).toContain('INC-124 refunds failing');
    expect(msg.text).toContain(`idp access:approve ${res.json.id}`);
    expect(msg.blocks).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'section', text: expect.objectContaining({ type: 'mrkdwn' }) }),
      ]),
    );
    hook.received.length = 0;

    // Dave sees it as his; the owning team sees it to review; another team does not see it at all.
    expect((await call('dave', 'GET', '/api/access/requests?mine=true')).json.items.map((r: any) => r.id)).toContain(
      res.json.id,
    );
    expect(
      (await call('alice', 'GET', '/api/access/requests?toReview=true')).json.items.map((r: any) => r.id),
    ).toContain(res.json.id);
    expect(
      (await call('dave', 'GET', '/api/access/requests?toReview=true')).json.items.map((r: any) => r.id),
    ).not.toContain(res.json.id);
    expect((await call('erin', 'GET', '/api/access/requests')).json.items).toEqual([]);
    expect((await call('erin', 'GET', `/api/access/requests/${res.json.id}`)).json.error.code).toBe(
      'ACCESS_REQUEST_NOT_FOUND',
    );
    // Until someone decides, Dave cannot read.
    expect((await read('dave', 'production/payments-api/STRIPE_KEY')).status).toBe(403);
  });

  it('refuses self-approval, other teams, durations above the policy maximum, and double decisions', async () => {
    const pending = (await call('dave', 'GET', '/api/access/requests?mine=true&pending=true')).json.items[0];
    const self = await call('dave', 'POST', `/api/access/requests/${pending.id}/approve`, {});
    expect([self.status, self.json.error.code]).toEqual([403, 'ACCESS_SELF_APPROVAL']);
    expect(
      (await call('dave', 'POST', `/api/access/requests/${pending.id}/deny`, { reason: 'no' })).json.error.code,
    ).toBe('ACCESS_SELF_APPROVAL');
    expect((await call('erin', 'POST', `/api/access/requests/${pending.id}/approve`, {})).json.error.code).toBe(
      'ACCESS_REQUEST_NOT_FOUND',
    );
    const tooLong = await call('alice', 'POST', `/api/access/requests/${pending.id}/approve`, { duration: '5h' });
    expect([tooLong.status, tooLong.json.error.code]).toEqual([400, 'ACCESS_DURATION_TOO_LONG']);
    expect(tooLong.json.error.message).toBe(
      'duration 5h is above the maximum of 4h for production/payments-api/STRIPE_KEY (policy access/max-duration-production)',
    );

    clock.advance(600); // ten minutes to a decision
    const ok = await call('alice', 'POST', `/api/access/requests/${pending.id}/approve`, {
      duration: '30m',
      reason: 'on call',
    });
    expect(ok.json).toMatchObject({
      status: 'approved',
      decidedBy: 'user:default/alice',
      rule: ['access/owners-approve'],
      durationSeconds: 1800,
      expiresAt: '2030-04-01T08:40:00.000Z',
      decisionReason: 'on call',
    });
    await hook.waitFor(1);
    expect(hook.received[0]!.body.text).toContain('approved by user:default/alice');

    const twice = await call('bob', 'POST', `/api/access/requests/${pending.id}/approve`, {});
    expect([twice.status, twice.json.error.code]).toEqual([409, 'ACCESS_ALREADY_DECIDED']);
    expect(twice.json.error.message).toContain('already approved by user:default/alice');
    expect(
      (await call('bob', 'POST', `/api/access/requests/${pending.id}/deny`, { reason: 'too late' })).json.error.code,
    ).toBe('ACCESS_ALREADY_DECIDED');

    const granted = await read('dave', 'production/payments-api/STRIPE_KEY');
    expect(granted.status).toBe(200);
    expect(granted.json.grant).toBe(pending.id);
    // The grant covers that key only.
    expect((await read('dave', 'production/payments-api/DB_URL')).status).toBe(403);
  });

  it('answers bad requests: unknown path, bad duration, missing reason, above the maximum', async () => {
    const cases: [unknown, number, string, string?][] = [
      [{ secret: 'production/no-such-service/KEY', reason: 'x' }, 404, 'NOT_FOUND'],
      [{ secret: 'production/payments-api', reason: 'x' }, 400, 'SECRET_PATH_INVALID'],
      [{ secret: 'production/*/KEY', reason: 'x' }, 400, 'SECRET_PATH_INVALID'],
      [{ secret: 'production/payments-api/KEY', reason: 'x', duration: '2x' }, 400, 'INVALID_DURATION'],
      [{ secret: 'production/payments-api/KEY' }, 400, 'VALIDATION_FAILED', 'reason'],
      [{ secret: 'production/payments-api/KEY', reason: '   ' }, 400, 'VALIDATION_FAILED', 'reason'],
      [{ secret: 'production/payments-api/KEY', reason: 'x', duration: '5h' }, 400, 'ACCESS_DURATION_TOO_LONG'],
      [{ secret: 'staging/payments-api/KEY', reason: 'x', duration: '9h' }, 400, 'ACCESS_DURATION_TOO_LONG'],
    ];
    for (const [body, status, code, field] of cases) {
      const res = await call('bob', 'POST', '/api/access/requests', body);
      expect([res.status, res.json.error.code], JSON.stringify(body)).toEqual([status, code]);
      if (field) expect(res.json.error.details.field).toBe(field);
    }
    const staging = await call('bob', 'POST', '/api/access/requests', {
      secret: 'staging/payments-api/KEY',
      reason: 'x',
      duration: '9h',
    });
    expect(staging.json.error.message).toContain('maximum of 8h');
    expect(staging.json.error.details).toMatchObject({ maxSeconds: 28800, forbiddenBy: ['access/max-duration'] });
    expect((await call('bob', 'POST', '/api/access/requests/acc_nope/approve', {})).json.error.code).toBe(
      'ACCESS_REQUEST_NOT_FOUND',
    );
    expect((await call('bob', 'POST', '/api/access/requests/acc_nope/deny', {})).json.error.code).toBe(
      'VALIDATION_FAILED',
    );
  });

  it('ends grants by time: a read after expiry is ACCESS_EXPIRED, and the sweeper audits it', async () => {
    clock.set('2030-04-01T08:40:01Z'); // Dave's 30-minute grant (approved at 08:10) has just ended
    const expired = await read('dave', 'production/payments-api/STRIPE_KEY');
    expect([expired.status, expired.json.error.code]).toEqual([403, 'ACCESS_EXPIRED']);
    expect(expired.json.error.message).toMatch(
      /^your access grant acc_\S+ for production\/payments-api\/STRIPE_KEY ended at 2030-04-01T08:40:00.000Z$/,
    );
    expect((await call('dave', 'GET', '/api/access/requests?mine=true')).json.items[0].status).toBe('expired');
    // Alice's 2-hour grant still runs.
    expect((await read('alice', 'production/payments-api/STRIPE_KEY')).status).toBe(200);

    expect(await server.services.access.sweep()).toBe(1);
    expect(await server.services.access.sweep()).toBe(0);
    const records = await audit('action=access:expire');
    expect(records).toEqual([
      expect.objectContaining({
        actor: 'system:idp',
        target: 'secret:production/payments-api/STRIPE_KEY',
        details: expect.objectContaining({
          requester: 'user:default/dave',
          was: 'approved',
          reason: 'INC-124 refunds failing',
        }),
      }),
    ]);

    const late = (await call('dave', 'GET', '/api/access/requests?mine=true')).json.items[0];
    expect((await call('alice', 'POST', `/api/access/requests/${late.id}/approve`, {})).json.error.code).toBe(
      'ACCESS_REQUEST_EXPIRED',
    );
    expect((await call('alice', 'POST', `/api/access/requests/${late.id}/revoke`, {})).json.error.code).toBe(
      'ACCESS_REQUEST_EXPIRED',
    );

    // A request nobody decides in time expires too, and cannot be approved afterwards.
    const stale = await request('erin', 'production/payments-api/DB_URL', 'INC-125', '1h');
    clock.advance(24 * 3600 + 1);
    const approveStale = await call('bob', 'POST', `/api/access/requests/${stale.json.id}/approve`, {});
    expect([approveStale.status, approveStale.json.error.code]).toEqual([409, 'ACCESS_REQUEST_EXPIRED']);
    expect(approveStale.json.error.message).toContain('expired at');
    expect(await server.services.access.sweep()).toBe(3); // Erin's and Frank's pending requests, Alice's grant
  });

  it('denies with a reason, revokes grants early, and lets requesters withdraw', async () => {
    const req = await request('erin', 'production/payments-api/*', 'INC-200', '1h');
    expect((await call('carol', 'POST', `/api/access/requests/${req.json.id}/deny`, {})).json.error).toMatchObject({
      code: 'VALIDATION_FAILED',
      details: { field: 'reason' },
    });
    const denied = await call('carol', 'POST', `/api/access/requests/${req.json.id}/deny`, {
      reason: 'use the read replica',
    });
    expect(denied.json).toMatchObject({
      status: 'denied',
      decidedBy: 'user:default/carol',
      decisionReason: 'use the read replica',
    });
    expect((await call('alice', 'POST', `/api/access/requests/${req.json.id}/approve`, {})).json.error).toMatchObject({
      code: 'ACCESS_ALREADY_DECIDED',
      message: expect.stringContaining('already denied by user:default/carol'),
    });

    const grant = await request('bob', 'production/payments-api/*', 'rotate keys', '1h');
    expect((await read('bob', 'production/payments-api/DB_URL')).status).toBe(200);
    expect((await call('erin', 'POST', `/api/access/requests/${grant.json.id}/revoke`, {})).json.error.code).toBe(
      'ACCESS_REQUEST_NOT_FOUND',
    );
    const revoked = await call('carol', 'POST', `/api/access/requests/${grant.json.id}/revoke`, { reason: 'done' });
    expect(revoked.json).toMatchObject({ status: 'revoked', revokedBy: 'user:default/carol' });
    const after = await read('bob', 'production/payments-api/DB_URL');
    expect([after.status, after.json.error.code]).toEqual([403, 'POLICY_DENIED']);
    expect((await call('carol', 'POST', `/api/access/requests/${grant.json.id}/revoke`, {})).json.error.code).toBe(
      'ACCESS_ALREADY_DECIDED',
    );

    const withdrawn = await request('dave', 'production/payments-api/DB_URL', 'never mind', '1h');
    expect((await call('dave', 'POST', `/api/access/requests/${withdrawn.json.id}/revoke`, {})).json).toMatchObject({
      status: 'revoked',
      revokedBy: 'user:default/dave',
      decidedAt: null,
    });
  });

  it('reports requests by outcome, the auto-approved share and time to decision', async () => {
    const stats = (await call('admin', 'GET', '/api/access/stats')).json;
    // alice (by rule, expired), frank (pending, expired), dave (approved after 10 min, expired),
    // erin (expired undecided), erin (denied at once), bob (by rule, revoked), dave (withdrawn)
    expect(stats).toMatchObject({
      since: null,
      total: 7,
      byOutcome: { pending: 0, approved: 0, denied: 1, expired: 4, revoked: 2 },
      autoApproved: 2,
      decisionTime: { count: 4, medianSeconds: 0, p90Seconds: 600 },
      manualDecisionTime: { count: 2, medianSeconds: 0, p90Seconds: 600 },
    });
    expect(stats.autoApprovedShare).toBe(0.5);
    // Others see the figures over the requests they can see.
    expect((await call('dave', 'GET', '/api/access/stats')).json.total).toBe(2);
    expect((await call('dave', 'GET', '/api/access/stats?since=2x')).json.error.code).toBe('INVALID_DURATION');
  });

  it('audits every request, decision, expiry and revoke with the actor and reason', async () => {
    const records = await audit('action=access:*');
    const seen = new Set(records.map((r) => `${r.action} ${r.decision}`));
    for (const a of [
      'access:request allow',
      'access:approve allow',
      'access:approve deny',
      'access:deny allow',
      'access:deny deny',
      'access:revoke allow',
      'access:expire allow',
      'access:request deny',
    ])
      expect(seen, a).toContain(a);
    const auto = records.find(
      (r) => r.action === 'access:approve' && r.details.by === 'policy' && r.actor === 'user:default/alice',
    );
    expect(auto).toMatchObject({
      actor: 'user:default/alice',
      policyIds: ['access/owners-auto-approve'],
      details: { reason: 'INC-123' },
    });
    const request = records.find(
      (r) =>
        r.action === 'access:request' &&
        r.actor === 'user:default/dave' &&
        r.details.reason === 'INC-124 refunds failing',
    );
    expect(request.details).toMatchObject({
      reason: 'INC-124 refunds failing',
      durationSeconds: 3600,
      outcome: 'pending',
    });
    expect(records.find((r) => r.action === 'access:deny' && r.decision === 'allow').details.reason).toBe(
      'use the read replica',
    );
    expect((await call('admin', 'GET', '/api/audit/verify')).json.ok).toBe(true);
  });

  it('leaves no secret value in the data dir or the logs, and none reached the webhook', async () => {
    expect(findLeaks(values.all, [server.dataDir], [stderr.text(), logs.join('\n'), JSON.stringify(hook.all)])).toEqual(
      [],
    );
  });
});
