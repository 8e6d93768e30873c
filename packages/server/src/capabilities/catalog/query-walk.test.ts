import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTempDatabase, postgresAvailable } from '../../../../../test/support/postgres.ts';
import { openStore, type Store } from '../../store/index.ts';
import { parseFilterParams, type EntityFilter } from './filters.ts';
import { CatalogQueries, type QueryPage } from './query.ts';
import { readLocation } from './read.ts';
import { CatalogStore, type LocationRow } from './store.ts';
import { testLocation } from './test-location.ts';

// 1,500 components, every third a website: queries that match more than a thousand entities find
// their pages by walking the entities in order; the pages must be the same as the matching set's.
const doc = (i: number, label = '') =>
  `apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: c-${String(i).padStart(4, '0')}\n${label}spec:\n  type: ${i % 3 === 0 ? 'website' : 'service'}\n  lifecycle: production\n  owner: team-${i % 5}\n`;
const GROUPS = Array.from(
  { length: 30 },
  (_, i) =>
    `apiVersion: backstage.io/v1alpha1\nkind: Group\nmetadata:\n  name: g-${i}\nspec:\n  type: team\n  children: []\n`,
);
const num = (name: string) => Number(name.slice(2));

function runWalkSuite(dialect: string, open: () => Promise<{ store: Store; cleanup(): Promise<void> }>) {
  describe(`catalog queries that match many entities, on ${dialect}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let dir: string;
    let tables: CatalogStore;
    let queries: CatalogQueries;
    let row: LocationRow;
    const write = (label = '', count = 1500) =>
      writeFileSync(
        join(dir, 'many.yaml'),
        [...GROUPS, ...Array.from({ length: count }, (_, i) => doc(i, label))].join('---\n'),
      );
    const refresh = async (create = false) =>
      tables.applyRefresh(row, await readLocation('file', row.target, { trusted: true }), undefined, create);

    /** Every name in the matching set, in the order a query pages them (uid, or ref with byRef). */
    const expected = async (keep: (n: number) => boolean, byRef = false) =>
      (
        await store.db
          .selectFrom('catalog_entities')
          .select(['name', 'uid', 'ref'])
          .where('kind', '=', 'component')
          .orderBy(byRef ? 'ref' : 'uid')
          .execute()
      )
        .map((r) => r.name)
        .filter((n) => keep(num(n)));

    const names = (page: QueryPage) => page.items.map((i) => JSON.parse(i as string).metadata.name as string);

    /** Pages forwards to the end, then backwards to the start with prevCursor. */
    const walk = async (filter: EntityFilter | undefined, byRef = false, limit = 50) => {
      const forwards: string[] = [];
      const pages: QueryPage[] = [];
      let page = await queries.query({ filter, byRef }, undefined, limit);
      const total = page.totalItems;
      for (;;) {
        pages.push(page);
        forwards.push(...names(page));
        if (!page.nextCursor) break;
        page = await queries.query(undefined, page.nextCursor, limit);
      }
      const backwards: string[] = [...names(page)];
      while (page.prevCursor) {
        page = await queries.query(undefined, page.prevCursor, limit);
        backwards.unshift(...names(page));
      }
      return { forwards, backwards, total, pages: pages.length };
    };

    beforeAll(async () => {
      ({ store, cleanup } = await open());
      dir = mkdtempSync(join(tmpdir(), 'idp-catalog-walk-'));
      tables = new CatalogStore(store.db, store.dialect, { now: () => new Date('2026-01-01T00:00:00Z') });
      row = testLocation('many', join(dir, 'many.yaml'), {
        origin: 'config',
        created_by: 'config',
        identity_source: 0,
      });
      write();
      await refresh(true);
      queries = new CatalogQueries(store.db, { pool: store.pool });
    });
    afterAll(async () => {
      await store?.close();
      await cleanup?.();
      rmSync(dir, { recursive: true, force: true });
    });

    it('pages through every match once, in uid order, with the right total, forwards and back', async () => {
      const services = await expected((n) => n % 3 !== 0);
      const cases: [EntityFilter | undefined, string[]][] = [
        [parseFilterParams(['kind=component,spec.type=service']), services],
        [parseFilterParams(['spec.type=service,kind=component']), services],
        [
          {
            allOf: [
              { key: 'kind', values: ['component'] },
              { key: 'spec.type', values: ['service'] },
            ],
          },
          services,
        ],
        [parseFilterParams(['kind=component,spec.type=service,spec.type=website']), await expected(() => true)],
        [
          parseFilterParams(['kind=component,spec.type=service', 'kind=component,spec.owner=team-1']),
          await expected((n) => n % 3 !== 0 || n % 5 === 1),
        ],
        [parseFilterParams('kind=component'), await expected(() => true)],
      ];
      for (const [filter, want] of cases) {
        // Twice: the first query counts before its page, the second finds its count kept.
        for (const round of [1, 2]) {
          const got = await walk(filter);
          expect({ round, total: got.total }).toEqual({ round, total: want.length });
          expect(got.forwards).toEqual(want);
          expect(got.backwards).toEqual(want);
        }
      }
    });

    it('walks in ref order for the idp list, and pages with an offset', async () => {
      const filter: EntityFilter = {
        allOf: [
          { key: 'kind', values: ['component'] },
          { key: 'spec.type', values: ['service'] },
        ],
      };
      const want = await expected((n) => n % 3 !== 0, true);
      const got = await walk(filter, true, 200);
      expect(got.total).toBe(want.length);
      expect(got.forwards).toEqual(want);
      const services = await expected((n) => n % 3 !== 0);
      const third = await queries.query({ filter }, undefined, 50, 100);
      expect(names(third)).toEqual(services.slice(100, 150));
      expect(names(await queries.query(undefined, third.nextCursor, 50))).toEqual(services.slice(150, 200));
      expect(names(await queries.query(undefined, third.prevCursor, 50))).toEqual(services.slice(50, 100));
    });

    it('counts again when the catalog changes, and skips the count when asked', async () => {
      const filter = parseFilterParams('kind=component,spec.type=website');
      expect((await queries.query({ filter }, undefined, 10)).totalItems).toBe(500);
      write('', 1200);
      await refresh();
      const after = await queries.query({ filter }, undefined, 10);
      expect(after.totalItems).toBe(400);
      expect(names(after)).toEqual((await expected((n) => n % 3 === 0)).slice(0, 10));
      const skipped = await queries.query({ filter, skipTotal: true }, undefined, 10);
      expect(skipped.totalItems).toBe(0);
      expect(names(skipped)).toEqual(names(after));
      const none = await queries.query(
        { filter: parseFilterParams('kind=component,spec.type=nothing') },
        undefined,
        10,
      );
      expect(none).toEqual({ items: [], totalItems: 0 });
    });
  });
}

runWalkSuite('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'idp-walk-store-'));
  return {
    store: await openStore({ dataDir: dir }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

const pgUp = await postgresAvailable();
describe.runIf(pgUp)('PostgreSQL', () => {
  runWalkSuite('PostgreSQL', async () => {
    const tmp = await createTempDatabase();
    return { store: await openStore({ dataDir: '/nonexistent', databaseUrl: tmp.url }), cleanup: () => tmp.drop() };
  });
});
