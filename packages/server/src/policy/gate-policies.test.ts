import { beforeAll, describe, expect, it } from 'vitest';
import type { IdpError } from '@idp/contracts';
import type { CedarEntity } from '@idp/core';
import { tempSqliteStore } from '../../../../test/support/sqlite.ts';
import { policyGate, testDirectory } from '../../../../test/support/unit-server.ts';
import type { AuditLog } from '../audit/index.ts';
import type { RequestContext } from '../auth/context.ts';
import { userUid } from '../identity/index.ts';
import type { PolicyGate } from './gate.ts';

// The gate with the shipped policies (policies/*.cedar) and a directory with nested teams: who
// the gate says a principal is (groups, ancestors, the admin role) decides what they may do, and
// every denial leaves one audit record naming the policies that decided it. gate.test.ts covers
// decide/enforce/refuse/resolve themselves; engine.test.ts the policies on hand-built entities.

const ALICE = 'user:default/alice'; // payments-backend, a child team of payments
const BOB = 'user:default/bob'; // payments
const DAVE = 'user:default/dave'; // orders
const ROOT = 'user:default/root'; // sre, a child team of the admin group platform

const directory = () =>
  testDirectory('platform', {
    payments: [BOB],
    'payments-backend': { parent: 'payments', members: [ALICE] },
    orders: [DAVE],
    platform: [],
    sre: { parent: 'platform', members: [ROOT] },
  });

/** An environment as the environments capability builds it. */
const env = (id: string, attrs: { owner?: string; team?: string; base: boolean; tier: string }): CedarEntity => ({
  uid: { type: 'Environment', id },
  attrs: {
    base: attrs.base,
    tier: attrs.tier,
    ...(attrs.owner ? { owner: userUid(attrs.owner) } : {}),
    ...(attrs.team ? { team: { type: 'Group', id: attrs.team } } : {}),
  },
  parents: [],
});

describe('PolicyGate: the shipped policies over the directory', () => {
  const tmp = tempSqliteStore('gate-policies');
  let audit: AuditLog;
  let gate: PolicyGate;
  let n = 0;
  const ctx = (ref: string) =>
    ({ principal: { ref, roles: [] }, requestId: `req-${++n}` }) as unknown as RequestContext;
  const denial = (p: Promise<unknown>) => p.then(() => undefined).catch((e: unknown) => e as IdpError);

  beforeAll(() => {
    ({ audit, gate } = policyGate(tmp.store, directory(), { now: () => new Date('2030-01-01T00:00:00Z') }));
  });

  const feature = env('feature-x', { owner: ALICE, team: 'payments', base: false, tier: 'staging' });
  const production = env('production', { base: true, tier: 'production' });

  it("an environment's owner manages it; its team (child teams included) reads and connects; others get nothing", () => {
    const may = (who: string, action: string) => gate.decide(who, { action, resource: feature }).decision;
    expect(['env:read', 'env:connect', 'env:extend', 'env:delete'].map((a) => may(ALICE, a))).toEqual([
      'allow',
      'allow',
      'allow',
      'allow',
    ]);
    // Bob is in payments, the environment's team: read and connect, not delete or extend.
    expect(['env:read', 'env:connect', 'env:extend', 'env:delete'].map((a) => may(BOB, a))).toEqual([
      'allow',
      'allow',
      'deny',
      'deny',
    ]);
    expect(['env:read', 'env:connect', 'env:delete'].map((a) => may(DAVE, a))).toEqual(['deny', 'deny', 'deny']);
    // A team environment seen from its child team: alice (payments-backend) is in payments.
    const teams = env('team-env', { owner: BOB, team: 'payments', base: false, tier: 'staging' });
    expect(gate.decide(ALICE, { action: 'env:connect', resource: teams })).toMatchObject({
      decision: 'allow',
      permittedBy: ['environments/team-read-connect'],
    });
  });

  it('a member of a child team of the admin group is a platform admin, but a forbid still binds them', () => {
    expect(gate.decide(ROOT, { action: 'env:delete', resource: feature })).toMatchObject({
      decision: 'allow',
      permittedBy: ['admins/platform-admins-all'],
    });
    expect(gate.decide(ROOT, { action: 'env:connect', resource: production })).toMatchObject({
      decision: 'deny',
      forbiddenBy: ['environments/no-production-connect'],
    });
    expect(gate.decide(ROOT, { action: 'env:delete', resource: production })).toMatchObject({
      decision: 'deny',
      forbiddenBy: ['environments/base-protected'],
    });
  });

  it('a denial by a forbid: POLICY_DENIED naming the policy, a policy:check hint, and one audit record with the policy ids', async () => {
    const c = ctx(ROOT);
    const err = await denial(gate.enforce(c, { action: 'env:connect', resource: production }));
    expect(err).toMatchObject({
      code: 'POLICY_DENIED',
      details: {
        action: 'env:connect',
        resource: 'environment:production',
        forbiddenBy: ['environments/no-production-connect'],
        reason: 'forbidden by environments/no-production-connect',
        hint: `Run \`idp policy:check --principal ${ROOT} --action env:connect --resource environment:production\` to see the decision, or ask your platform team.`,
      },
    });
    expect(err!.message).toBe(
      'env:connect on environment:production denied: forbidden by environments/no-production-connect',
    );
    const records = (await audit.list({ limit: 100 })).filter((r) => r.requestId === c.requestId);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({
      actor: ROOT,
      action: 'env:connect',
      target: 'environment:production',
      decision: 'deny',
      policyIds: ['environments/no-production-connect'],
      details: { reason: 'forbidden by environments/no-production-connect' },
    });
  });

  it('a limit in the context decides: a TTL over 14 days is refused even to the owner', async () => {
    const mine = env('mine', { owner: DAVE, base: false, tier: 'staging' });
    expect(
      (await gate.enforce(ctx(DAVE), { action: 'env:create', resource: mine, context: { ttlSeconds: 1209600 } }))
        .decision,
    ).toBe('allow');
    const err = await denial(
      gate.enforce(ctx(DAVE), { action: 'env:create', resource: mine, context: { ttlSeconds: 1209601 } }),
    );
    expect(err).toMatchObject({ code: 'POLICY_DENIED', details: { forbiddenBy: ['environments/max-ttl'] } });
  });

  it('an action no policy knows is denied and audited, with the reason naming it', async () => {
    const c = ctx(ROOT);
    const err = await denial(gate.enforce(c, { action: 'env:explode', resource: feature }));
    expect(err).toMatchObject({ code: 'POLICY_DENIED', details: { action: 'env:explode' } });
    expect(err!.message).toContain('env:explode');
    const [record] = (await audit.list({ limit: 100 })).filter((r) => r.requestId === c.requestId);
    expect(record).toMatchObject({ action: 'env:explode', decision: 'deny', actor: ROOT });
    expect(JSON.stringify(record!.details)).toContain('env:explode');
  });

  it('a context the schema does not declare is denied (never silently ignored), with the error audited', async () => {
    const c = ctx(ALICE);
    const err = await denial(gate.enforce(c, { action: 'env:read', resource: feature, context: { notAField: true } }));
    expect(err).toMatchObject({ code: 'POLICY_DENIED' });
    const [record] = (await audit.list({ limit: 100 })).filter((r) => r.requestId === c.requestId);
    expect(record).toMatchObject({ decision: 'deny', details: { errors: [expect.stringContaining('notAField')] } });
  });

  it('allows without writing anything; the audit chain of the denials verifies', async () => {
    const before = (await audit.list({ limit: 1000 })).length;
    expect((await gate.enforce(ctx(ALICE), { action: 'env:delete', resource: feature })).decision).toBe('allow');
    expect((await audit.list({ limit: 1000 })).length).toBe(before);
    expect((await audit.verify()).ok).toBe(true);
  });
});
