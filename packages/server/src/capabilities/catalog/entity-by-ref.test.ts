import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createTempDatabase, postgresAvailable } from '../../../../../test/support/postgres.ts';
import { openStore, type Store } from '../../store/index.ts';
import { entityByRef } from './entity-by-ref.ts';
import { openReadConnection } from './read-connection.ts';

const ENTITY = '{"kind":"Component","metadata":{"name":"a"}}';

async function seed(store: Store): Promise<void> {
  await store.db
    .insertInto('catalog_entities')
    .values({
      uid: 'u1',
      ref: 'component:default/a',
      kind: 'component',
      namespace: 'default',
      name: 'a',
      location_id: 'l1',
      source: 'file:a.yaml',
      parent_ref: null,
      content_hash: 'h',
      etag: 'e',
      entity: ENTITY,
      updated_at: '2026-01-01T00:00:00Z',
    })
    .execute();
}

/** The prepared reader (the store's driver) and the query builder's answer the same, missing or not. */
async function expectSameAnswers(store: Store, driver: 'sqlite' | 'pool'): Promise<void> {
  const reads = openReadConnection(store);
  try {
    expect(reads.direct[driver]).toBeDefined();
    const direct = entityByRef(reads.db, reads.direct);
    const built = entityByRef(store.db);
    for (let i = 0; i < 3; i++) {
      expect(await direct('component:default/a')).toBe(ENTITY);
      expect(await direct('component:default/b')).toBeUndefined();
    }
    expect(await built('component:default/a')).toBe(ENTITY);
    expect(await built('component:default/b')).toBeUndefined();
  } finally {
    await reads.close();
  }
}

const pgUp = await postgresAvailable();

describe('one entity by ref', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idp-by-ref-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads the same JSON through the SQLite read connection as through the query builder', async () => {
    const store = await openStore({ dataDir: dir });
    try {
      await seed(store);
      await expectSameAnswers(store, 'sqlite');
    } finally {
      await store.close();
    }
  });

  it.runIf(pgUp)('reads the same JSON through a statement prepared on the PostgreSQL pool', async () => {
    const tmp = await createTempDatabase();
    const store = await openStore({ dataDir: dir, databaseUrl: tmp.url });
    try {
      await seed(store);
      await expectSameAnswers(store, 'pool');
    } finally {
      await store.close();
      await tmp.drop();
    }
  });
});
