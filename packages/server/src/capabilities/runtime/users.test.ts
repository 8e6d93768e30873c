import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTempDatabase, postgresAvailable } from '../../../../../test/support/postgres.ts';
import type { Clock } from '../../clock.ts';
import { openStore, type Store } from '../../store/index.ts';
import { FIRST_UID, RuntimeUsers } from './users.ts';

const clock: Clock = { now: () => new Date('2026-01-01T00:00:00Z') };

function runUsersSuite(dialect: string, open: () => Promise<{ store: Store; cleanup(): Promise<void> }>) {
  describe(`workload users on ${dialect}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    beforeAll(async () => {
      ({ store, cleanup } = await open());
    });
    afterAll(async () => {
      await store?.close();
      await cleanup?.();
    });

    it('gives each namespace and each team its own uid from 200000, the same one every time, never reused after removal', async () => {
      const users = new RuntimeUsers(store.db, clock);
      const a = await users.uidOf('namespace', 'feature-a-alice');
      expect(a).toBe(FIRST_UID);
      expect(await users.uidOf('namespace', 'feature-a-alice')).toBe(a);
      const team = await users.uidOf('build', 'payments');
      expect(team).toBe(FIRST_UID + 1);
      // Another control plane on the same store agrees (no cache shared).
      expect(await new RuntimeUsers(store.db, clock).uidOf('build', 'payments')).toBe(team);
      expect(await users.remove('namespace', 'feature-a-alice')).toBe(a);
      expect(await users.remove('namespace', 'feature-a-alice')).toBeNull();
      const again = await users.uidOf('namespace', 'feature-a-alice');
      expect(again).toBe(FIRST_UID + 2);
    });

    it('two control planes making users at once end with distinct uids and one per name', async () => {
      const [x, y] = [new RuntimeUsers(store.db, clock), new RuntimeUsers(store.db, clock)];
      const names = Array.from({ length: 8 }, (_, i) => `ns-${i}`);
      const got = await Promise.all(names.flatMap((n) => [x.uidOf('namespace', n), y.uidOf('namespace', n)]));
      for (let i = 0; i < names.length; i++) expect(got[2 * i]).toBe(got[2 * i + 1]);
      expect(new Set(got).size).toBe(names.length);
    });
  });
}

runUsersSuite('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'idp-users-'));
  return {
    store: await openStore({ dataDir: dir }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

if (await postgresAvailable()) {
  runUsersSuite('PostgreSQL', async () => {
    const db = await createTempDatabase('idp_users');
    return { store: await openStore({ databaseUrl: db.url, dataDir: tmpdir() }), cleanup: () => db.drop() };
  });
}
