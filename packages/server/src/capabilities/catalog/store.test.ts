import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTempDatabase, postgresAvailable } from '../../../../../test/support/postgres.ts';
import type { Clock } from '../../clock.ts';
import { openStore, type Store } from '../../store/index.ts';
import { parseFilterParams } from './filters.ts';
import { CatalogQueries } from './query.ts';
import { readLocation } from './read.ts';
import { CatalogStore, type LocationRow } from './store.ts';
import { testLocation } from './test-location.ts';

const doc = (kind: string, name: string, spec: Record<string, unknown>, extra = '') =>
  `apiVersion: backstage.io/v1alpha1\nkind: ${kind}\nmetadata:\n  name: ${name}\n${extra}spec: ${JSON.stringify(spec)}\n`;

const ORG = [
  doc('Group', 'payments', { type: 'team', children: [] }),
  doc('User', 'alice', { memberOf: ['payments'] }),
].join('---\n');

const SERVICES = (usersLifecycle: string) =>
  [
    doc(
      'Component',
      'payments-api',
      { type: 'service', lifecycle: 'production', owner: 'payments', dependsOn: ['component:users-api'] },
      '  tags: [java]\n',
    ),
    doc('Component', 'users-api', { type: 'service', lifecycle: usersLifecycle, owner: 'payments' }),
    doc('Component', 'web', { type: 'website', lifecycle: 'production', owner: 'payments' }),
  ].join('---\n');

/** The catalog's tables and their queries, run against every dialect the store supports. */
function runCatalogStoreSuite(dialect: string, open: () => Promise<{ store: Store; cleanup(): Promise<void> }>) {
  describe(`catalog store on ${dialect}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let catalog: CatalogStore;
    let queries: CatalogQueries;
    let dir: string;
    let n = 0;
    const clock: Clock = { now: () => new Date(Date.parse('2026-01-01T00:00:00Z') + n * 1000) };
    const loc = (id: string, file: string): LocationRow =>
      testLocation(id, join(dir, file), { created_at: `2026-01-01T00:00:0${id.length}Z` });
    const refresh = async (row: LocationRow, create = false) => {
      n++;
      return catalog.applyRefresh(row, await readLocation('file', row.target, { trusted: true }), undefined, create);
    };
    const entity = async (ref: string) => {
      const json = await queries.byRef(ref);
      return json ? JSON.parse(json) : undefined;
    };
    const org = () => loc('org', 'org.yaml');
    const services = () => loc('svc', 'services.yaml');

    beforeAll(async () => {
      ({ store, cleanup } = await open());
      catalog = new CatalogStore(store.db, store.dialect, clock);
      queries = new CatalogQueries(store.db, { pool: store.pool });
      dir = mkdtempSync(join(tmpdir(), 'idp-catalog-store-'));
      writeFileSync(join(dir, 'org.yaml'), ORG);
      writeFileSync(join(dir, 'services.yaml'), SERVICES('production'));
    });
    afterAll(async () => {
      await store?.close();
      await cleanup?.();
      rmSync(dir, { recursive: true, force: true });
    });

    it('ingests a location in one go: uid, etag, relations in both directions, stitched across locations', async () => {
      expect(await refresh(org(), true)).toMatchObject({ added: 2, errors: 0, identityChanged: true });
      expect(await refresh(services(), true)).toMatchObject({ added: 3, errors: 0 });
      const payments = await entity('component:default/payments-api');
      expect(payments.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(payments.metadata.etag).toMatch(/^[0-9a-f]{40}$/);
      expect(payments.metadata.annotations['backstage.io/managed-by-location']).toBe(
        `file:${join(dir, 'services.yaml')}`,
      );
      expect(payments.relations.map((r: { type: string; targetRef: string }) => `${r.type} ${r.targetRef}`)).toEqual([
        'dependsOn component:default/users-api',
        'ownedBy group:default/payments',
      ]);
      // The group came from another location and was re-stitched with the incoming relations.
      const group = await entity('group:default/payments');
      expect(group.relations.map((r: { type: string; targetRef: string }) => `${r.type} ${r.targetRef}`)).toEqual([
        'hasMember user:default/alice',
        'ownerOf component:default/payments-api',
        'ownerOf component:default/users-api',
        'ownerOf component:default/web',
      ]);
    });

    it('keeps uid and etag when nothing changed, and changes only the etag of what changed', async () => {
      const before = await entity('component:default/users-api');
      const unchanged = await entity('component:default/web');
      expect(await refresh(services())).toMatchObject({ added: 0, updated: 0, unchanged: 3, removed: 0 });
      expect((await entity('component:default/users-api')).metadata).toMatchObject({
        uid: before.metadata.uid,
        etag: before.metadata.etag,
      });
      writeFileSync(join(dir, 'services.yaml'), SERVICES('experimental'));
      expect(await refresh(services())).toMatchObject({ updated: 1, unchanged: 2 });
      const after = await entity('component:default/users-api');
      expect(after.metadata.uid).toBe(before.metadata.uid);
      expect(after.metadata.etag).not.toBe(before.metadata.etag);
      expect((await entity('component:default/web')).metadata.etag).toBe(unchanged.metadata.etag);
    });

    it('filters, orders, pages with a cursor, and counts facets in SQL', async () => {
      const filter = parseFilterParams(['kind=component,spec.type=service', 'metadata.tags.java']);
      const first = await queries.query(
        { filter, orderField: { field: 'metadata.name', order: 'desc' } },
        undefined,
        1,
      );
      expect(first.totalItems).toBe(2);
      expect(JSON.parse(first.items[0] as string).metadata.name).toBe('users-api');
      const second = await queries.query(undefined, first.nextCursor, 1);
      expect(JSON.parse(second.items[0] as string).metadata.name).toBe('payments-api');
      expect(second.nextCursor).toBeUndefined();
      const back = await queries.query(undefined, second.prevCursor, 1);
      expect(JSON.parse(back.items[0] as string).metadata.name).toBe('users-api');
      const owned = await queries.query(
        { filter: parseFilterParams('relations.ownedby=group:default/payments'), byRef: true },
        undefined,
        10,
      );
      expect(owned.items.map((e) => JSON.parse(e as string).metadata.name)).toEqual([
        'payments-api',
        'users-api',
        'web',
      ]);
      const text = await queries.query({ fullText: { term: 'USERS', fields: ['metadata.name'] } }, undefined, 10);
      expect(text.totalItems).toBe(1);
      expect(await queries.facets(['spec.type'], parseFilterParams('kind=component'))).toEqual({
        'spec.type': [
          { value: 'service', count: 2 },
          { value: 'website', count: 1 },
        ],
      });
    });

    it('keeps the first location for a ref claimed twice and reports the conflict', async () => {
      writeFileSync(
        join(dir, 'dup.yaml'),
        doc('Component', 'web', { type: 'website', lifecycle: 'production', owner: 'someone-else' }),
      );
      const counts = await refresh(loc('dup', 'dup.yaml'), true);
      expect(counts).toMatchObject({ added: 0, errors: 1 });
      const errs = await store.db.selectFrom('catalog_errors').selectAll().where('location_id', '=', 'dup').execute();
      expect(errs[0]!.message).toMatch(
        /conflict: component:default\/web is already provided by location file:.*services\.yaml/,
      );
      expect((await entity('component:default/web')).spec.owner).toBe('payments');
    });

    it('keeps entities of a file that no longer parses, and an invalid entity at its last good version', async () => {
      writeFileSync(join(dir, 'services.yaml'), `${SERVICES('production')}---\nkind: [oops\n`);
      const broken = await refresh(services());
      expect(broken).toMatchObject({ removed: 0, errors: 1 });
      const errs = await store.db.selectFrom('catalog_errors').selectAll().where('location_id', '=', 'svc').execute();
      expect(errs[0]).toMatchObject({ line: expect.any(Number) });
      expect(errs[0]!.message).toMatch(/YAML syntax error at line \d+/);

      writeFileSync(
        join(dir, 'services.yaml'),
        // users-api without spec.type: refused (a missing lifecycle would only be a warning).
        SERVICES('production').replace(
          '{"type":"service","lifecycle":"production","owner":"payments"}',
          '{"lifecycle":"production","owner":"payments"}',
        ),
      );
      const invalid = await refresh(services());
      expect(invalid).toMatchObject({ removed: 0, errors: 1 });
      expect(await entity('component:default/web')).toBeTruthy();
    });

    it('removes entities that vanished from their location, with their relations and search rows', async () => {
      writeFileSync(join(dir, 'services.yaml'), SERVICES('production').split('---\n').slice(0, 2).join('---\n'));
      expect(await refresh(services())).toMatchObject({ removed: 1 });
      expect(await entity('component:default/web')).toBeUndefined();
      const group = await entity('group:default/payments');
      expect(group.relations.map((r: { targetRef: string }) => r.targetRef)).not.toContain('component:default/web');
      const orphanRows = await store.db
        .selectFrom('catalog_relations')
        .selectAll()
        .where('target_ref', '=', 'component:default/web')
        .execute();
      expect(orphanRows).toEqual([]);
      expect((await queries.query({ filter: parseFilterParams('metadata.name=web') }, undefined, 10)).totalItems).toBe(
        0,
      );
    });

    it('records an unreachable location without touching its entities', async () => {
      const gone = { ...services(), target: join(dir, 'missing.yaml') };
      const counts = await catalog.applyRefresh(gone, await readLocation('file', gone.target, { trusted: true }));
      expect(counts).toMatchObject({ removed: 0, errors: 1 });
      expect(
        (await store.db.selectFrom('catalog_locations').selectAll().where('id', '=', 'svc').executeTakeFirstOrThrow())
          .status,
      ).toBe('error');
      expect(await entity('component:default/users-api')).toBeTruthy();
    });

    it('deletes a location with its entities and re-stitches their peers', async () => {
      const genBefore = await catalog.generation();
      expect(await catalog.deleteLocation('org')).toMatchObject({ removed: 2, identityChanged: true });
      expect(await entity('group:default/payments')).toBeUndefined();
      // The component keeps its relation to the missing owner, as in Backstage.
      expect(
        (await entity('component:default/users-api')).relations.map((r: { targetRef: string }) => r.targetRef),
      ).toContain('group:default/payments');
      expect(await catalog.generation()).toBeGreaterThan(genBefore);
    });
  });
}

runCatalogStoreSuite('SQLite', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'idp-store-'));
  return {
    store: await openStore({ dataDir: dir }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
});

const pgUp = await postgresAvailable();
describe.runIf(pgUp)('PostgreSQL', () => {
  runCatalogStoreSuite('PostgreSQL', async () => {
    const tmp = await createTempDatabase();
    return { store: await openStore({ dataDir: '/nonexistent', databaseUrl: tmp.url }), cleanup: () => tmp.drop() };
  });
});
