import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql } from 'kysely';
import { createTempDatabase, postgresAvailable } from '../../../../test/support/postgres.ts';
import { AuditLog } from '../audit/index.ts';
import type { Clock } from '../clock.ts';
import { isUniqueViolation, migrate, openStore, type Store } from './index.ts';

/** One suite, run against every dialect the store supports. */
function runStoreSuite(dialect: string, open: () => Promise<{ store: Store; cleanup(): Promise<void> }>) {
  describe(`state store on ${dialect}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let t = Date.parse('2026-01-01T00:00:00Z');
    const clock: Clock = { now: () => new Date(t) };

    beforeAll(async () => {
      ({ store, cleanup } = await open());
    });
    afterAll(async () => {
      await store?.close();
      await cleanup?.();
    });

    it('applies the migrations once; re-running is a no-op', async () => {
      expect(await migrate(store)).toEqual([]);
      const tables = await store.db.introspection.getTables();
      expect(tables.map((x) => x.name)).toEqual(expect.arrayContaining(['api_tokens', 'audit_log', 'audit_head']));
    });

    it("tells unique and primary-key violations from other errors by the driver's code", async () => {
      await sql`create table unique_probe (id varchar(20) primary key, name varchar(20) unique, v varchar(20) not null)`.execute(
        store.db,
      );
      try {
        await sql`insert into unique_probe (id, name, v) values ('a', 'x', '1')`.execute(store.db);
        const failure = async (q: ReturnType<typeof sql>) =>
          q.execute(store.db).then(
            () => expect.fail('the insert succeeded'),
            (err: unknown) => err,
          );
        expect(
          isUniqueViolation(await failure(sql`insert into unique_probe (id, name, v) values ('a', 'y', '1')`)),
        ).toBe(true);
        expect(
          isUniqueViolation(await failure(sql`insert into unique_probe (id, name, v) values ('b', 'x', '1')`)),
        ).toBe(true);
        expect(
          isUniqueViolation(await failure(sql`insert into unique_probe (id, name, v) values ('c', 'z', null)`)),
        ).toBe(false);
        expect(isUniqueViolation(new Error('UNIQUE constraint failed: nowhere'))).toBe(false);
      } finally {
        await sql`drop table unique_probe`.execute(store.db);
      }
    });

    it('chains audit records and verifies them', async () => {
      const audit = new AuditLog(store.db, clock, store.dialect);
      for (let i = 0; i < 5; i++) {
        t += 1000;
        await audit.append({
          actor: 'user:default/alice',
          action: 'token:create',
          target: `token:t${i}`,
          decision: 'allow',
          policyIds: ['admins/x'],
          details: { n: i },
        });
      }
      const v = await audit.verify();
      expect(v).toMatchObject({ ok: true, records: 5, headSeq: 5 });
      const listed = await audit.list({ limit: 2 });
      expect(listed.map((r) => r.seq)).toEqual([5, 4]);
      expect(listed[0]!.details).toEqual({ n: 4 });
    });

    it('filters by actor, action prefix, decision and time', async () => {
      const audit = new AuditLog(store.db, clock, store.dialect);
      t += 3_600_000 * 2;
      await audit.append({
        actor: 'user:default/bob',
        action: 'env:create',
        target: 'environment:x',
        decision: 'deny',
      });
      expect((await audit.list({ limit: 100, actors: ['user:default/bob'] })).map((r) => r.action)).toEqual([
        'env:create',
      ]);
      expect((await audit.list({ limit: 100, action: 'token:*' })).length).toBe(5);
      expect((await audit.list({ limit: 100, decision: 'deny' })).length).toBe(1);
      expect((await audit.list({ limit: 100, since: '1h' })).length).toBe(1);
    });

    it('detects a changed record', async () => {
      const audit = new AuditLog(store.db, clock, store.dialect);
      await sql`update audit_log set actor = 'user:default/mallory' where seq = 3`.execute(store.db);
      const v = await audit.verify();
      expect(v).toMatchObject({ ok: false, firstBadSeq: 3 });
      expect(v.problem).toMatch(/changed/);
      await sql`update audit_log set actor = 'user:default/alice' where seq = 3`.execute(store.db);
      expect((await audit.verify()).ok).toBe(true);
    });

    it('detects a removed record and a truncated tail', async () => {
      const audit = new AuditLog(store.db, clock, store.dialect);
      const six = await store.db.selectFrom('audit_log').selectAll().where('seq', '=', 6).executeTakeFirstOrThrow();
      await sql`delete from audit_log where seq = 6`.execute(store.db);
      const v = await audit.verify();
      expect(v).toMatchObject({ ok: false, firstBadSeq: 6 });
      expect(v.problem).toMatch(/removed from the end/);
      await store.db.insertInto('audit_log').values(six).execute();
      await sql`delete from audit_log where seq = 2`.execute(store.db);
      expect(await audit.verify()).toMatchObject({ ok: false, firstBadSeq: 2 });
    });

    it('keeps the chain intact under concurrent appends', async () => {
      const fresh = await open();
      try {
        const audit = new AuditLog(fresh.store.db, clock, fresh.store.dialect);
        await Promise.all(
          Array.from({ length: 40 }, (_, i) =>
            audit.append({ actor: 'a', action: 'x:y', target: `t:${i}`, decision: 'allow' }),
          ),
        );
        expect(await audit.verify()).toMatchObject({ ok: true, records: 40 });
      } finally {
        await fresh.store.close();
        await fresh.cleanup();
      }
    });
  });
}

runStoreSuite('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'idp-store-'));
  return {
    store: await openStore({ dataDir: dir }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

const pgUp = await postgresAvailable();
describe.runIf(pgUp)('PostgreSQL', () => {
  runStoreSuite('PostgreSQL', async () => {
    const tmp = await createTempDatabase();
    return { store: await openStore({ dataDir: '/nonexistent', databaseUrl: tmp.url }), cleanup: () => tmp.drop() };
  });
});
