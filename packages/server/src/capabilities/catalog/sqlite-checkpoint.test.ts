import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../store/index.ts';
import { checkpointOffThread } from './sqlite-checkpoint.ts';

describe('a large SQLite write checkpointed by a worker thread', () => {
  let dir: string;
  let store: Store;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'idp-checkpoint-'));
    store = await openStore({ dataDir: dir });
  });
  afterAll(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const autocheckpoint = async () =>
    Number(
      (await sql<{ wal_autocheckpoint: number }>`pragma wal_autocheckpoint`.execute(store.db)).rows[0]
        ?.wal_autocheckpoint,
    );

  it('leaves the WAL checkpointed after the write, and the connection checkpointing as before', async () => {
    const every = await autocheckpoint();
    const sizeBefore = statSync(join(dir, 'idp.sqlite')).size;
    let during = -1;
    const rows = await checkpointOffThread(store.db, store.dialect, async () => {
      during = await autocheckpoint();
      await store.db.transaction().execute(async (trx) => {
        for (let i = 0; i < 2000; i++)
          await trx
            .insertInto('idp_meta')
            .values({ key: `checkpoint-test-${i}`, value: 'x'.repeat(1000), updated_at: 'now' })
            .execute();
      });
      return 2000;
    });
    expect(rows).toBe(2000);
    expect(during).toBe(0);
    expect(await autocheckpoint()).toBe(every);
    // Only a checkpoint writes to the database file: the rows are in it, not only in the WAL.
    expect(statSync(join(dir, 'idp.sqlite')).size).toBeGreaterThan(sizeBefore + 2000 * 1000);
  });
});
