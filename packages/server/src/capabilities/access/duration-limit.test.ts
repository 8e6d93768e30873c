import { beforeAll, describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { tempSqliteStore } from '../../../../../test/support/sqlite.ts';
import { PolicyEngine, loadDefaultPolicySources } from '@idp/core';
import { AuditLog } from '../../audit/index.ts';
import type { RequestContext } from '../../auth/context.ts';
import { Directory } from '../../identity/index.ts';
import { PolicyGate } from '../../policy/gate.ts';
import { SecretResources } from '../secrets/resources.ts';
import { enforceWithDuration, maxDuration } from './duration-limit.ts';

const ALICE = 'user:default/alice';

describe('access durations against the shipped policies', () => {
  const tmp = tempSqliteStore('access-duration');
  let gate: PolicyGate;
  let audit: AuditLog;
  const resources = new SecretResources({ ownerOf: async () => 'group:default/payments' }, (env) =>
    env === 'production' ? 'production' : 'non-production',
  );
  const ctx = { principal: { ref: ALICE, roles: [] }, requestId: 'req-1' } as unknown as RequestContext;
  beforeAll(async () => {
    audit = new AuditLog(tmp.store.db, { now: () => new Date('2030-01-01T00:00:00Z') }, tmp.store.dialect);
    gate = new PolicyGate(PolicyEngine.load(loadDefaultPolicySources()), new Directory('platform-admins'), audit);
  });
  const request = async (path: string, durationSeconds: number) => {
    const scope = { env: path.split('/')[0]!, service: 'payments-api', key: '*', path };
    const resolved = await resources.resolve(scope);
    return {
      scope,
      req: { action: 'access:request', resource: resolved.entity, context: { durationSeconds, reason: 'x' } },
    };
  };

  it('finds the longest duration the policies allow: 8h, 4h in production', async () => {
    const staging = await request('staging/payments-api/*', 100_000);
    expect(maxDuration(gate, ALICE, staging.req, 100_000)).toBe(28_800);
    const prod = await request('production/payments-api/*', 100_000);
    expect(maxDuration(gate, ALICE, prod.req, 100_000)).toBe(14_400);
  });

  it('allows within the limit; above it, ACCESS_DURATION_TOO_LONG names the maximum and the policy, audited as a denial', async () => {
    const ok = await request('production/payments-api/*', 3600);
    expect((await enforceWithDuration(gate, ctx, ok.req, ok.scope, 3600)).decision).toBe('allow');

    const long = await request('production/payments-api/*', 5 * 3600);
    const err = await enforceWithDuration(gate, ctx, long.req, long.scope, 5 * 3600).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdpError);
    expect(err).toMatchObject({
      code: 'ACCESS_DURATION_TOO_LONG',
      details: { field: 'duration', maxSeconds: 14_400, forbiddenBy: ['access/max-duration-production'] },
    });
    const [record] = await audit.list({ limit: 1 });
    expect(record).toMatchObject({
      actor: ALICE,
      action: 'access:request',
      target: 'secret:production/payments-api/*',
      decision: 'deny',
      details: { durationSeconds: 18_000, maxSeconds: 14_400 },
    });
  });
});
