import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { IdpError } from '@idp/contracts';
import { tempSqliteStore } from '../../../../../test/support/sqlite.ts';
import { policyGate, secretsServices, testDirectory } from '../../../../../test/support/unit-server.ts';
import type { AuditLog } from '../../audit/index.ts';
import type { RequestContext } from '../../auth/context.ts';
import type { Clock } from '../../clock.ts';
import type { Directory } from '../../identity/index.ts';
import type { AccessService } from '../access/index.ts';
import { tierLookup } from './paths.ts';
import { SecretResources } from './resources.ts';
import type { SecretsService } from './service.ts';
import { VaultError } from './vault.ts';
import { ACCESS_LOST, hashWorkloadToken } from './workload-tokens.ts';

// Workload tokens (the Vault-compatible read path) on the real SQLite store with the shipped
// policies and the real access service: what a token may read, and every way it stops working.
// Service ownership is the catalog's answer; here a fixed table stands in for the catalog.

const ALICE = 'user:default/alice'; // payments
const CAROL = 'user:default/carol'; // orders
const OWNERS: Record<string, string> = {
  'payments-api': 'group:default/payments',
  orders: 'group:default/orders',
};

const directory = () => testDirectory('platform', { payments: [ALICE], orders: [CAROL], platform: [] });

describe('workload tokens and Vault reads on the real SQLite store', () => {
  const tmp = tempSqliteStore('workload-tokens');
  let now: Date;
  const clock: Clock = { now: () => now };
  let dir: Directory;
  let audit: AuditLog;
  let access: AccessService;
  let secrets: SecretsService;
  let n = 0;
  const ctx = (ref: string): RequestContext => ({
    principal: { ref, name: ref, email: null, displayName: null, teams: [], roles: ['member'], tokenId: null },
    requestId: `req-${++n}`,
  });
  const vaultFailure = (p: Promise<unknown>) => p.then(() => undefined).catch((e: unknown) => e as VaultError);
  const failure = (p: Promise<unknown>) => p.then(() => undefined).catch((e: unknown) => e as IdpError);
  const lastAudit = async () => (await audit.list({ limit: 1 }))[0]!;
  const tokenRow = (id: string) =>
    tmp.store.db.selectFrom('workload_tokens').selectAll().where('id', '=', id).executeTakeFirstOrThrow();

  beforeAll(async () => {
    now = new Date('2030-01-01T00:00:00.000Z');
    dir = directory();
    const { gate, ...wired } = policyGate(tmp.store, dir, clock);
    audit = wired.audit;
    const resources = new SecretResources(
      { ownerOf: async (service) => OWNERS[service] ?? null },
      tierLookup(['production']),
    );
    ({ access, secrets } = secretsServices({
      store: tmp.store,
      dataDir: tmp.dataDir,
      audit,
      gate,
      directory: dir,
      clock,
      ids: { next: (p: string) => `${p}_${++n}` },
      resources,
    }));
    for (const env of ['staging', 'production']) {
      await secrets.setAsSystem('system:test', `${env}/payments-api/DB_PASSWORD`, `${env}-db-pw`);
      await secrets.setAsSystem('system:test', `${env}/orders/API_KEY`, `${env}-orders-key`);
    }
  });
  afterAll(async () => {
    await access?.stop();
  });
  beforeEach(() => {
    now = new Date('2030-01-01T00:00:00.000Z');
  });

  it('reads exactly its environment and service; every other scope is refused and audited', async () => {
    const made = await secrets.createToken(ctx(ALICE), { env: 'staging', service: 'payments-api', ttl: '2h' });
    expect(made.token).toMatch(/^idpw_/);
    expect(made).toMatchObject({ env: 'staging', service: 'payments-api', expiresAt: '2030-01-01T02:00:00.000Z' });
    // Only the hash is stored.
    const row = await tokenRow(made.id);
    expect(row.token_hash).toBe(hashWorkloadToken(made.token));
    expect(JSON.stringify(await tmp.store.db.selectFrom('workload_tokens').selectAll().execute())).not.toContain(
      made.token.slice(5),
    );

    const read = await secrets.vaultRead(made.token, 'staging', 'payments-api', 'r1');
    expect(read.data).toEqual({ DB_PASSWORD: 'staging-db-pw' });
    expect(await lastAudit()).toMatchObject({
      actor: `workload:${made.id}`,
      action: 'secret:read',
      decision: 'allow',
      details: { via: 'vault', keys: ['DB_PASSWORD'], tokenCreatedBy: ALICE },
    });

    for (const [env, service] of [
      ['staging', 'orders'],
      ['production', 'payments-api'],
      ['stagingx', 'payments-api'],
    ] as const) {
      const err = await vaultFailure(secrets.vaultRead(made.token, env, service, 'r2'));
      expect(err, `${env}/${service}`).toBeInstanceOf(VaultError);
      expect(err).toMatchObject({ status: 403, errors: ['permission denied'] });
      expect(await lastAudit()).toMatchObject({
        action: 'secret:read',
        target: `secret:${env}/${service}/*`,
        decision: 'deny',
        details: { reason: 'the token is scoped to staging/payments-api' },
      });
    }
    // A token idp never issued, or none at all.
    expect(await vaultFailure(secrets.vaultRead('idpw_made-up', 'staging', 'payments-api', 'r3'))).toMatchObject({
      status: 403,
    });
    expect(await vaultFailure(secrets.vaultRead(undefined, 'staging', 'payments-api', 'r4'))).toMatchObject({
      status: 403,
    });
  });

  it('stops at its expiry instant and after revocation; a revoked token cannot be revoked twice', async () => {
    const made = await secrets.createToken(ctx(ALICE), { env: 'staging', service: 'payments-api', ttl: '1h' });
    now = new Date(Date.parse(made.expiresAt) - 1);
    await secrets.vaultRead(made.token, 'staging', 'payments-api', 'r1');
    now = new Date(made.expiresAt);
    expect(await vaultFailure(secrets.vaultRead(made.token, 'staging', 'payments-api', 'r2'))).toMatchObject({
      status: 403,
    });
    expect((await lastAudit()).details).toMatchObject({ reason: `the token expired at ${made.expiresAt}` });

    now = new Date('2030-01-01T00:00:00.000Z');
    const other = await secrets.createToken(ctx(ALICE), { env: 'staging', service: 'payments-api' });
    // Another team's member does not even see it.
    expect(await failure(secrets.tokens.revoke(ctx(CAROL), other.id))).toMatchObject({
      code: 'WORKLOAD_TOKEN_NOT_FOUND',
    });
    expect(await secrets.tokens.revoke(ctx(ALICE), other.id)).toMatchObject({ status: 'revoked', revokedBy: ALICE });
    expect(await vaultFailure(secrets.vaultRead(other.token, 'staging', 'payments-api', 'r3'))).toMatchObject({
      status: 403,
    });
    expect(await failure(secrets.tokens.revoke(ctx(ALICE), other.id))).toMatchObject({
      code: 'WORKLOAD_TOKEN_ALREADY_REVOKED',
    });
  });

  it('only the owning team issues them, for at most 30 days; a refusal stores nothing', async () => {
    const count = async () => (await tmp.store.db.selectFrom('workload_tokens').select('id').execute()).length;
    const before = await count();
    expect(await failure(secrets.createToken(ctx(CAROL), { env: 'staging', service: 'payments-api' }))).toMatchObject({
      code: 'POLICY_DENIED',
    });
    expect(
      await failure(secrets.createToken(ctx(ALICE), { env: 'staging', service: 'payments-api', ttl: '31d' })),
    ).toMatchObject({ code: 'POLICY_DENIED' });
    expect(await lastAudit()).toMatchObject({
      actor: ALICE,
      action: 'secret:token',
      decision: 'deny',
      policyIds: ['secrets/workload-token-max-ttl'],
    });
    expect(await count()).toBe(before);
    await secrets.createToken(ctx(ALICE), { env: 'staging', service: 'payments-api', ttl: '30d' });
    expect(await count()).toBe(before + 1);
  });

  it('ends with its creator’s access: a creator who left the owning team gets it revoked for good on the next read', async () => {
    const made = await secrets.createToken(ctx(ALICE), { env: 'staging', service: 'orders' }).catch(() => null);
    expect(made).toBeNull(); // alice is not in orders
    const carols = await secrets.createToken(ctx(CAROL), { env: 'staging', service: 'orders' });
    expect((await secrets.vaultRead(carols.token, 'staging', 'orders', 'r1')).data).toEqual({
      API_KEY: 'staging-orders-key',
    });
    const carol = dir.users.get(CAROL)!;
    dir.users.set(CAROL, { ...carol, memberOf: ['group:default/payments'] });
    try {
      expect(await vaultFailure(secrets.vaultRead(carols.token, 'staging', 'orders', 'r2'))).toMatchObject({
        status: 403,
      });
    } finally {
      dir.users.set(CAROL, carol);
    }
    expect(await tokenRow(carols.id)).toMatchObject({ revoked_by: ACCESS_LOST, revoked_at: now.toISOString() });
    // Back in the team, the token stays revoked.
    expect(await vaultFailure(secrets.vaultRead(carols.token, 'staging', 'orders', 'r3'))).toMatchObject({
      status: 403,
    });
  });

  it('in production it needs an access grant, never outlives it, and ends when the grant is revoked', async () => {
    const denied = await failure(secrets.createToken(ctx(ALICE), { env: 'production', service: 'payments-api' }));
    expect(denied).toMatchObject({ code: 'POLICY_DENIED' });
    expect(denied!.details?.hint).toContain('idp access:request --secret=production/payments-api/*');

    const grant = await access.request(ctx(ALICE), {
      secret: 'production/payments-api/*',
      reason: 'incident 42',
      duration: '2h',
    });
    expect(grant.status).toBe('approved'); // owners are approved by rule
    const made = await secrets.createToken(ctx(ALICE), { env: 'production', service: 'payments-api', ttl: '1d' });
    expect(made.grant).toBe(grant.id);
    expect(made.expiresAt).toBe('2030-01-01T02:00:00.000Z'); // the grant's end, not 1d
    expect((await secrets.vaultRead(made.token, 'production', 'payments-api', 'r1')).data).toEqual({
      DB_PASSWORD: 'production-db-pw',
    });

    await access.revoke(ctx(ALICE), grant.id, { reason: 'done' });
    expect(await vaultFailure(secrets.vaultRead(made.token, 'production', 'payments-api', 'r2'))).toMatchObject({
      status: 403,
    });
    expect((await lastAudit()).details).toMatchObject({ grant: grant.id });
    expect(await tokenRow(made.id)).toMatchObject({ revoked_by: ACCESS_LOST });
  });
});
