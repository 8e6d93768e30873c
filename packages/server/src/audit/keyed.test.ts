import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { createTempDatabase, postgresAvailable } from '../../../../test/support/postgres.ts';
import {
  forgeChain,
  hmacWith,
  plainSha256,
  type AuditRow,
  type ChainHash,
} from '../../../../test/support/audit-forgery.ts';
import type { Clock } from '../clock.ts';
import { openStore, type Store } from '../store/index.ts';
import { AuditLog } from './log.ts';
import { unlockAuditKey } from './key.ts';

/** The keyed chain (docs/adr/0006) against every dialect, with the attacks an attacker with write access to the store can make. */
function runKeyedSuite(dialect: string, open: () => Promise<{ store: Store; cleanup(): Promise<void> }>) {
  describe(`keyed audit chain on ${dialect}`, () => {
    const clock: Clock = { now: () => new Date('2026-01-01T00:00:00Z') };
    const cleanups: (() => Promise<void>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0)) await c();
    });

    async function setup() {
      const { store, cleanup } = await open();
      const dataDir = mkdtempSync(join(tmpdir(), 'idp-audit-key-'));
      cleanups.push(async () => {
        await store.close();
        await cleanup();
        rmSync(dataDir, { recursive: true, force: true });
      });
      return { store, dataDir };
    }
    const append = (audit: AuditLog, n: number, from = 0) =>
      (async () => {
        for (let i = 0; i < n; i++)
          await audit.append({
            actor: 'user:default/alice',
            action: 'token:create',
            target: `token:t${from + i}`,
            decision: 'allow',
            details: { n: from + i },
          });
      })();

    async function rehash(
      store: Store,
      hash: ChainHash,
      edit?: { seq: number; details: Record<string, unknown> },
      fromSeq = 1,
      toSeq = Infinity,
    ) {
      if (edit)
        await store.db
          .updateTable('audit_log')
          .set({ details: JSON.stringify(edit.details) })
          .where('seq', '=', edit.seq)
          .execute();
      const rows = (await store.db
        .selectFrom('audit_log')
        .selectAll()
        .orderBy('seq', 'asc')
        .execute()) as unknown as AuditRow[];
      const forged = forgeChain(rows, hash, fromSeq, toSeq);
      for (const u of forged.updates)
        await store.db
          .updateTable('audit_log')
          .set({ prev_hash: u.prev_hash, hash: u.hash })
          .where('seq', '=', u.seq)
          .execute();
      await store.db.updateTable('audit_head').set(forged.head).where('id', '=', 1).execute();
    }

    it('keys a new store from record 1, writes audit.key 0600, verifies, and catches a plain or wrong-key re-hash', async () => {
      const { store, dataDir } = await setup();
      const key = await unlockAuditKey(store.db, dataDir, undefined, () => {});
      expect(key).toMatchObject({ created: true, keyedFrom: 1, upgradedRecords: 0 });
      expect(statSync(join(dataDir, 'audit.key')).mode & 0o777).toBe(0o600);
      const audit = new AuditLog(store.db, clock, store.dialect, key);
      await append(audit, 6);
      expect(await audit.verify()).toMatchObject({
        ok: true,
        records: 6,
        keyed: true,
        keyedFromSeq: 1,
        keyId: key.keyId,
      });

      const original = await store.db
        .selectFrom('audit_log')
        .select('details')
        .where('seq', '=', 4)
        .executeTakeFirstOrThrow();
      // The least an attacker must recompute: from the edited record on.
      await rehash(store, plainSha256, { seq: 4, details: { n: 'forged' } }, 4);
      const plain = await audit.verify();
      expect(plain).toMatchObject({ ok: false, firstBadSeq: 4 });
      expect(plain.problem).toMatch(/record 4 was re-hashed without the audit key/);
      // The old code's way: the whole chain. Named from its first record, keyed from 1.
      await rehash(store, plainSha256);
      expect(await audit.verify()).toMatchObject({ ok: false, firstBadSeq: 1 });

      await rehash(store, hmacWith(randomBytes(32)), { seq: 4, details: JSON.parse(original.details) });
      const wrong = await audit.verify();
      expect(wrong).toMatchObject({ ok: false, firstBadSeq: 1 });
      expect(wrong.problem).toMatch(/MAC mismatch/);
    });

    it('keeps verifying a store from before the upgrade, and catches a re-hash of its plain part at the first keyed record', async () => {
      const { store, dataDir } = await setup();
      await append(new AuditLog(store.db, clock, store.dialect), 5);
      const logs: string[] = [];
      const key = await unlockAuditKey(store.db, dataDir, undefined, (l) => logs.push(l));
      expect(key).toMatchObject({ keyedFrom: 6, upgradedRecords: 5 });
      expect(logs.join('\n')).toMatch(/keyed from record 6/);
      const audit = new AuditLog(store.db, clock, store.dialect, key);
      await append(audit, 3, 5);
      expect(await audit.verify()).toMatchObject({ ok: true, records: 8, keyed: true, keyedFromSeq: 6 });
      // An unkeyed writer cannot append to a keyed chain.
      await expect(
        new AuditLog(store.db, clock, store.dialect).append({
          actor: 'a',
          action: 'x:y',
          target: 't',
          decision: 'allow',
        }),
      ).rejects.toThrow(/keyed/);

      await rehash(store, plainSha256, { seq: 2, details: { n: 'forged' } }, 2, 5);
      const v = await audit.verify();
      expect(v).toMatchObject({ ok: false, firstBadSeq: 6 });
      expect(v.problem).toMatch(/first keyed record/);
    });

    it('catches a downgrade: the marker moved past the end, or removed, with the chain re-hashed plain', async () => {
      const { store, dataDir } = await setup();
      const key = await unlockAuditKey(store.db, dataDir, undefined, () => {});
      const audit = new AuditLog(store.db, clock, store.dialect, key);
      await append(audit, 4);
      await rehash(store, plainSha256, { seq: 3, details: { n: 'forged' } });
      await store.db.updateTable('audit_head').set({ keyed_from: 99 }).where('id', '=', 1).execute();
      const moved = await audit.verify();
      expect(moved.ok).toBe(false);
      expect(moved.problem).toMatch(/chain head does not verify/);

      await store.db.updateTable('audit_head').set({ keyed_from: null }).where('id', '=', 1).execute();
      expect(await audit.verify()).toMatchObject({ ok: false, firstBadSeq: 1 });
      expect((await unlockAuditKey(store.db, dataDir, undefined, () => {}).catch((e) => e)).code).toBe(
        'AUDIT_KEY_MISMATCH',
      );
      await store.db
        .updateTable('audit_head')
        .set({ keyed_from: null, key_check: null, mac: null })
        .where('id', '=', 1)
        .execute();
      const removed = await audit.verify();
      expect(removed).toMatchObject({ ok: false, firstBadSeq: 1 });
      expect(removed.problem).toMatch(/marker/);
      // A restart with the existing audit.key refuses rather than re-key the forged chain.
      const err = await unlockAuditKey(store.db, dataDir, undefined, () => {}).catch((e) => e);
      expect(err).toBeInstanceOf(IdpError);
      expect(err.code).toBe('AUDIT_KEY_MISMATCH');
      expect(err.message).toMatch(/marker was removed/);
    });

    it('catches a cut tail whose head was reset to the new last record', async () => {
      const { store, dataDir } = await setup();
      const key = await unlockAuditKey(store.db, dataDir, undefined, () => {});
      const audit = new AuditLog(store.db, clock, store.dialect, key);
      await append(audit, 5);
      const four = await store.db.selectFrom('audit_log').select('hash').where('seq', '=', 4).executeTakeFirstOrThrow();
      await store.db.deleteFrom('audit_log').where('seq', '=', 5).execute();
      await store.db.updateTable('audit_head').set({ seq: 4, hash: four.hash }).where('id', '=', 1).execute();
      const v = await audit.verify();
      expect(v.ok).toBe(false);
      expect(v.problem).toMatch(/chain head does not verify/);
    });

    it('refuses another key, and a lost audit.key, without writing anything', async () => {
      const { store, dataDir } = await setup();
      const key = await unlockAuditKey(store.db, dataDir, randomBytes(32).toString('hex'), () => {});
      expect(key).toMatchObject({ source: 'IDP_AUDIT_KEY', created: false });
      await append(new AuditLog(store.db, clock, store.dialect, key), 2);
      const other = await unlockAuditKey(store.db, dataDir, randomBytes(32).toString('base64'), () => {}).catch(
        (e) => e,
      );
      expect(other.code).toBe('AUDIT_KEY_MISMATCH');
      const lost = await unlockAuditKey(store.db, dataDir, undefined, () => {}).catch((e) => e);
      expect(lost.code).toBe('AUDIT_KEY_MISMATCH');
      expect(lost.message).toMatch(/does not exist/);
      expect(existsSync(join(dataDir, 'audit.key'))).toBe(false);
      const bad = await unlockAuditKey(store.db, dataDir, 'not-a-key', () => {}).catch((e) => e);
      expect(bad.code).toBe('AUDIT_KEY_INVALID');
      expect(bad.message).not.toMatch(/not-a-key/);
    });

    it('keeps the keyed chain intact under concurrent appends', async () => {
      const { store, dataDir } = await setup();
      const audit = new AuditLog(
        store.db,
        clock,
        store.dialect,
        await unlockAuditKey(store.db, dataDir, undefined, () => {}),
      );
      await Promise.all(
        Array.from({ length: 30 }, (_, i) =>
          audit.append({ actor: 'a', action: 'x:y', target: `t:${i}`, decision: 'allow' }),
        ),
      );
      expect(await audit.verify()).toMatchObject({ ok: true, records: 30, keyed: true });
    });
  });
}

runKeyedSuite('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'idp-audit-store-'));
  return {
    store: await openStore({ dataDir: dir }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

const pgUp = await postgresAvailable();
describe.runIf(pgUp)('PostgreSQL', () => {
  runKeyedSuite('PostgreSQL', async () => {
    const tmp = await createTempDatabase();
    return { store: await openStore({ dataDir: '/nonexistent', databaseUrl: tmp.url }), cleanup: () => tmp.drop() };
  });
});
