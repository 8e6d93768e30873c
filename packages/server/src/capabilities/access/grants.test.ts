import { beforeEach, describe, expect, it, vi } from 'vitest';
import { tempSqliteStore } from '../../../../../test/support/sqlite.ts';
import { AuditLog } from '../../audit/index.ts';
import { AccessGrants } from './grants.ts';
import type { RequestRow } from './requests.ts';
import { AccessSweeper, SYSTEM_ACTOR } from './sweeper.ts';

const T0 = Date.parse('2030-01-01T12:00:00Z');
const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
const ALICE = 'user:default/alice';

/** An access request row as the service writes it; `expires` / `pendingUntil` in minutes from T0. */
function row(
  id: string,
  over: Partial<RequestRow> & { key?: string; expires?: number; pendingUntil?: number } = {},
): RequestRow {
  const { key = '*', expires, pendingUntil, ...rest } = over;
  return {
    id,
    requester: ALICE,
    pattern: `production/payments-api/${key}`,
    env: 'production',
    service: 'payments-api',
    key_pattern: key,
    owner: 'group:default/payments',
    reason: `reason ${id}`,
    duration_seconds: 3600,
    status: 'approved',
    auto_approved: 0,
    created_at: at(-120),
    pending_until: pendingUntil === undefined ? null : at(pendingUntil),
    decided_at: at(-120),
    decided_by: 'user:default/bob',
    rule: '[]',
    decision_reason: null,
    expires_at: expires === undefined ? null : at(expires),
    revoked_at: null,
    revoked_by: null,
    ...rest,
  };
}

describe('access grants and the expiry sweeper on the real SQLite store', () => {
  const tmp = tempSqliteStore('access-grants');
  let minutes = 0;
  const clock = { now: () => new Date(T0 + minutes * 60_000) };
  let store: typeof tmp.store;
  beforeEach(async () => {
    store = tmp.store;
    minutes = 0;
    await store.db.deleteFrom('access_requests').execute();
  });
  const insert = (...rows: RequestRow[]) => store.db.insertInto('access_requests').values(rows).execute();

  it('picks the active grant lasting longest that covers the key; else the one that ended last', async () => {
    await insert(
      row('acc_short', { expires: 30 }),
      row('acc_long', { key: 'STRIPE_*', expires: 90 }),
      row('acc_other_key', { key: 'DB_PASSWORD', expires: 240 }),
      row('acc_other_user', { requester: 'user:default/carol', expires: 240 }),
      row('acc_other_service', { service: 'orders', pattern: 'production/orders/*', expires: 240 }),
      row('acc_denied', { status: 'denied', expires: 240 }),
      row('acc_ended_early', { expires: -10 }),
      row('acc_ended_late', { status: 'expired', expires: -5 }),
    );
    const grants = new AccessGrants({ db: store.db, clock });
    const info = (id: string) => ({ id, expiresAt: expect.any(String), reason: `reason ${id}` });

    expect(await grants.grantFor(ALICE, 'production', 'payments-api', 'STRIPE_KEY')).toEqual({
      active: info('acc_long'),
      ended: null,
    });
    // A prefix grant does not cover the whole service; `*` does.
    expect(await grants.grantFor(ALICE, 'production', 'payments-api', '*')).toEqual({
      active: info('acc_short'),
      ended: null,
    });
    expect(await grants.grantFor(ALICE, 'production', 'payments-api', 'API_URL')).toEqual({
      active: info('acc_short'),
      ended: null,
    });

    minutes = 60; // acc_short has ended by time, though the sweeper has not marked it yet
    expect(await grants.grantFor(ALICE, 'production', 'payments-api', 'API_URL')).toEqual({
      active: null,
      ended: info('acc_short'),
    });
    expect(await grants.grantFor(ALICE, 'production', 'payments-api', 'STRIPE_KEY')).toEqual({
      active: info('acc_long'),
      ended: null,
    });
    expect(await grants.grantFor('user:default/dave', 'production', 'payments-api', 'API_URL')).toEqual({
      active: null,
      ended: null,
    });
  });

  it('isActive: approved and unexpired, by the clock', async () => {
    await insert(
      row('acc_a', { expires: 30 }),
      row('acc_revoked', { status: 'revoked', expires: 30 }),
      row('acc_pending', { status: 'pending', pendingUntil: 30 }),
    );
    const grants = new AccessGrants({ db: store.db, clock });
    expect(await grants.isActive('acc_a')).toBe(true);
    expect(await grants.isActive('acc_revoked')).toBe(false);
    expect(await grants.isActive('acc_pending')).toBe(false);
    expect(await grants.isActive('acc_missing')).toBe(false);
    minutes = 30;
    expect(await grants.isActive('acc_a')).toBe(false);
  });

  it('the sweeper marks ended grants and stale pending requests expired, audits each once, and leaves the rest', async () => {
    await insert(
      row('acc_ended', { expires: 10 }),
      row('acc_stale', { status: 'pending', expires: undefined, pendingUntil: 20, decided_at: null, decided_by: null }),
      row('acc_running', { expires: 120 }),
      row('acc_waiting', { status: 'pending', pendingUntil: 120, decided_at: null, decided_by: null }),
      row('acc_revoked', { status: 'revoked', expires: 5, revoked_at: at(-1), revoked_by: ALICE }),
    );
    const audit = new AuditLog(store.db, clock, store.dialect);
    const before = (await audit.list({ limit: 1000 })).length;
    const sweeper = new AccessSweeper({ db: store.db, audit, clock, interval: '1m', log: () => {} });
    const statuses = async () =>
      Object.fromEntries(
        (await store.db.selectFrom('access_requests').select(['id', 'status']).execute()).map((r) => [r.id, r.status]),
      );

    expect(await sweeper.sweep()).toBe(0); // nothing has ended at T0
    minutes = 15;
    expect(await sweeper.sweep()).toBe(1);
    minutes = 30;
    expect(await sweeper.sweep()).toBe(1);
    expect(await sweeper.sweep()).toBe(0); // idempotent
    expect(await statuses()).toEqual({
      acc_ended: 'expired',
      acc_stale: 'expired',
      acc_running: 'approved',
      acc_waiting: 'pending',
      acc_revoked: 'revoked',
    });

    const records = (await audit.list({ limit: 1000 })).slice(0, -before || undefined).reverse();
    expect(records.map((r) => [r.actor, r.action, r.target, r.details.id, r.details.was, r.details.endedAt])).toEqual([
      [SYSTEM_ACTOR, 'access:expire', 'secret:production/payments-api/*', 'acc_ended', 'approved', at(10)],
      [SYSTEM_ACTOR, 'access:expire', 'secret:production/payments-api/*', 'acc_stale', 'pending', at(20)],
    ]);
    expect((await audit.verify()).ok).toBe(true);
  });

  it('start sweeps on the interval until stop', async () => {
    await insert(row('acc_ended', { expires: -1 }));
    const audit = new AuditLog(store.db, clock, store.dialect);
    const sweeper = new AccessSweeper({ db: store.db, audit, clock, interval: '1s', log: () => {} });
    sweeper.start();
    try {
      await vi.waitFor(
        async () => {
          expect((await store.db.selectFrom('access_requests').select('status').executeTakeFirstOrThrow()).status).toBe(
            'expired',
          );
        },
        { timeout: 5000, interval: 50 },
      );
    } finally {
      await sweeper.stop();
    }
  });
});
