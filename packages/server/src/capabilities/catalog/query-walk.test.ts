import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../store/index.ts';
import { parseFilterParams } from './filters.ts';
import { CatalogQueries } from './query.ts';
import { readLocation } from './read.ts';
import { CatalogStore, type LocationRow } from './store.ts';

// 1,500 components, every third a website: queries that match more than a thousand entities find
// their pages by walking the entities in order; the pages must be the same as the matching set's.
const doc = (i: number) =>
  `apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: c-${String(i).padStart(4, '0')}\nspec:\n  type: ${i % 3 === 0 ? 'website' : 'service'}\n  lifecycle: production\n  owner: team-${i % 5}\n`;

describe('catalog queries that match many entities', () => {
  let store: Store;
  let dir: string;
  let queries: CatalogQueries;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'idp-catalog-walk-'));
    store = await openStore({ dataDir: dir });
    const tables = new CatalogStore(store.db, store.dialect, { now: () => new Date('2026-01-01T00:00:00Z') });
    writeFileSync(join(dir, 'many.yaml'), Array.from({ length: 1500 }, (_, i) => doc(i)).join('---\n'));
    const row: LocationRow = {
      id: 'many',
      type: 'file',
      target: join(dir, 'many.yaml'),
      origin: 'config',
      created_at: '2026-01-01T00:00:00Z',
      created_by: 'config',
      refreshed_at: null,
      status: 'pending',
      last_error: null,
      identity_source: 0,
    };
    await tables.applyRefresh(row, await readLocation('file', row.target, { trusted: true }), undefined, true);
    queries = new CatalogQueries(store.db);
  });
  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('pages through every match once, in uid order, with the right total', async () => {
    const filter = parseFilterParams(['kind=component,spec.type=service', 'kind=component,spec.owner=team-1']);
    const expected = (
      await store.db
        .selectFrom('catalog_entities as e')
        .select('e.name')
        .where((eb) =>
          eb.or([
            eb.exists(
              eb
                .selectFrom('catalog_search as s')
                .select('s.entity_uid')
                .whereRef('s.entity_uid', '=', 'e.uid')
                .where('s.key', '=', 'spec.type')
                .where('s.value', '=', 'service'),
            ),
            eb.exists(
              eb
                .selectFrom('catalog_search as s')
                .select('s.entity_uid')
                .whereRef('s.entity_uid', '=', 'e.uid')
                .where('s.key', '=', 'spec.owner')
                .where('s.value', '=', 'team-1'),
            ),
          ]),
        )
        .orderBy('e.uid')
        .execute()
    ).map((r) => r.name);
    for (const f of [parseFilterParams(['kind=component,spec.type=service']), filter]) {
      const names: string[] = [];
      let page = await queries.query({ filter: f }, undefined, 50);
      const total = page.totalItems;
      for (;;) {
        for (const item of page.items) names.push(JSON.parse(item as string).metadata.name);
        if (!page.nextCursor) break;
        page = await queries.query(undefined, page.nextCursor, 50);
      }
      expect(names.length).toBe(total);
      if (f === filter) expect(names).toEqual(expected);
      else expect(names).toEqual(expected.filter((n) => Number(n.slice(2)) % 3 !== 0));
    }
  });
});
