import { beforeAll, describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { tempSqliteStore } from '../../../../test/support/sqlite.ts';
import { policyGate, testDirectory } from '../../../../test/support/unit-server.ts';
import type { AuditLog } from '../audit/index.ts';
import type { RequestContext } from '../auth/context.ts';
import { PLATFORM, targetOf, type PolicyGate } from './gate.ts';

const ALICE = 'user:default/alice';
const ROOT = 'user:default/root';

/** Alice is in payments; root is in the admin group. */
const directory = () => testDirectory('platform-admins', { payments: [ALICE], 'platform-admins': [ROOT] });

describe('PolicyGate with the shipped policies on the real SQLite store', () => {
  const tmp = tempSqliteStore('gate');
  let audit: AuditLog;
  let gate: PolicyGate;
  const ctx = (ref: string) => ({ principal: { ref, roles: [] }, requestId: 'req-gate' }) as unknown as RequestContext;
  beforeAll(async () => {
    ({ audit, gate } = policyGate(tmp.store, directory(), { now: () => new Date('2030-01-01T00:00:00Z') }));
  });
  const records = async () => audit.list({ limit: 100 });

  it('decide has no side effects: admins may list every token, a member may not', async () => {
    expect(gate.decide(ROOT, { action: 'token:list', resource: PLATFORM })).toMatchObject({
      decision: 'allow',
      permittedBy: ['admins/platform-admins-all'],
    });
    expect(gate.decide(ALICE, { action: 'token:list', resource: PLATFORM }).decision).toBe('deny');
    expect(await records()).toEqual([]);
  });

  it('enforce returns an allow without auditing it (the service audits with its change)', async () => {
    const d = await gate.enforce(ctx(ROOT), { action: 'token:list', resource: PLATFORM });
    expect(d.decision).toBe('allow');
    expect(await records()).toEqual([]);
  });

  it('enforce throws POLICY_DENIED with a policy:check hint, and audits the denial once', async () => {
    const err = await gate.enforce(ctx(ALICE), { action: 'token:list', resource: PLATFORM }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpError);
    expect(err).toMatchObject({
      code: 'POLICY_DENIED',
      details: {
        action: 'token:list',
        resource: 'platform:idp',
        hint: expect.stringContaining(
          `idp policy:check --principal ${ALICE} --action token:list --resource platform:idp`,
        ),
      },
    });
    const rows = await records();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      actor: ALICE,
      action: 'token:list',
      target: 'platform:idp',
      decision: 'deny',
      requestId: 'req-gate',
    });
    expect((await audit.verify()).ok).toBe(true);
  });

  it('refuse audits with the extra details and throws the capability’s own error', async () => {
    const req = { action: 'token:list', resource: PLATFORM };
    const decision = gate.decide(ALICE, req);
    const own = new IdpError('ACCESS_DURATION_TOO_LONG', 'too long');
    await expect(gate.refuse(ctx(ALICE), req, decision, own, { maxSeconds: 60 })).rejects.toBe(own);
    const [last] = await records();
    expect(last).toMatchObject({ decision: 'deny', details: { reason: decision.reason, maxSeconds: 60 } });
  });

  it('resolve uses the resolver a capability registered, and a bare entity otherwise', async () => {
    gate.registerResolver('Widget', async (id) =>
      id === 'w1' ? { resource: { uid: { type: 'Widget', id }, attrs: { size: 3 }, parents: [] } } : undefined,
    );
    expect(await gate.resolve({ type: 'Widget', id: 'w1' })).toEqual({
      resource: { uid: { type: 'Widget', id: 'w1' }, attrs: { size: 3 }, parents: [] },
      related: [],
      found: true,
    });
    expect(await gate.resolve({ type: 'Widget', id: 'w2' })).toMatchObject({ resource: { attrs: {} }, found: false });
    expect(await gate.resolve({ type: 'Nothing', id: 'x' })).toMatchObject({ found: false });
    expect(targetOf({ type: 'Environment', id: 'staging' })).toBe('environment:staging');
  });
});
