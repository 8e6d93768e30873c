import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { Directory } from '../../identity/index.ts';
import { openStore, type Store } from '../../store/index.ts';
import { loadTrustedDirectory } from './identity-sources.ts';
import { CatalogQueries } from './query.ts';
import { readLocation } from './read.ts';
import { CatalogStore, type LocationRow } from './store.ts';
import { CatalogViews } from './views.ts';
import { testLocation } from './test-location.ts';

const doc = (kind: string, name: string, spec: Record<string, unknown>, metadata = '') =>
  `apiVersion: backstage.io/v1alpha1\nkind: ${kind}\nmetadata:\n  name: ${name}\n${metadata}spec: ${JSON.stringify(spec)}\n`;

// engineering (an email) has two teams: payments (no contact of its own) and platform (in the rota).
const CATALOG = [
  doc('Group', 'engineering', { type: 'org', children: ['payments', 'platform'], profile: { email: 'eng@acme.test' } }),
  doc('Group', 'payments', { type: 'team', children: [] }),
  doc('Group', 'platform', { type: 'team', children: [] }, '  annotations:\n    idp.dev/oncall: pagerduty:PLAT\n'),
  doc('User', 'alice', { memberOf: ['payments'], profile: { email: 'alice@acme.test' } }),
  doc('User', 'frank', { memberOf: ['platform'] }),
  doc('Component', 'payments-api', {
    type: 'service',
    lifecycle: 'production',
    owner: 'payments',
    dependsOn: ['component:users-api'],
  }),
  doc('Component', 'users-api', {
    type: 'service',
    lifecycle: 'production',
    owner: 'platform',
    dependsOn: ['resource:users-db'],
    providesApis: ['users'],
  }),
  doc('API', 'users', { type: 'openapi', lifecycle: 'production', owner: 'platform', definition: 'openapi: 3.0.0' }),
  doc('Component', 'web', { type: 'website', lifecycle: 'production', owner: 'payments', consumesApis: ['users'] }),
  doc('Component', 'cyc-a', {
    type: 'service',
    lifecycle: 'production',
    owner: 'payments',
    dependsOn: ['component:cyc-b'],
  }),
  doc('Component', 'cyc-b', {
    type: 'service',
    lifecycle: 'production',
    owner: 'payments',
    dependsOn: ['component:cyc-a'],
  }),
].join('---\n');

const code = (fn: () => Promise<unknown>) =>
  fn().then(
    () => 'no error',
    (err: IdpError) => ({ code: err.code, hint: err.details?.['hint'] }),
  );

/** The graph views over a real SQLite store filled by a real read of a catalog file. */
describe('catalog graph views', () => {
  let store: Store;
  let dir: string;
  let tables: CatalogStore;
  let views: CatalogViews;
  const directory = new Directory('platform');
  const rota: Record<string, string> = {};
  const location = (file: string): LocationRow =>
    testLocation(file, join(dir, file), { origin: 'config', created_by: 'config' });
  const load = async (file: string, create: boolean) => {
    const row = location(file);
    await tables.applyRefresh(row, await readLocation('file', row.target, { trusted: true }), undefined, create);
    directory.replaceWith(await loadTrustedDirectory(store.db, directory.adminGroup));
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'idp-catalog-views-'));
    store = await openStore({ dataDir: dir });
    tables = new CatalogStore(store.db, store.dialect, { now: () => new Date('2026-01-01T00:00:00Z') });
    views = new CatalogViews({
      db: store.db,
      store: tables,
      queries: new CatalogQueries(store.db),
      directory,
      settings: { oncall: rota },
    });
    writeFileSync(join(dir, 'catalog.yaml'), CATALOG);
    await load('catalog.yaml', true);
  });
  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('resolves what a user types: a bare component, another kind by its unique name, or NOT_FOUND with a suggestion', async () => {
    expect(await views.resolveRef('payments-api')).toBe('component:default/payments-api');
    expect(await views.resolveRef(' group:payments ')).toBe('group:default/payments');
    expect(await views.resolveRef('alice')).toBe('user:default/alice');
    // With a kind given, a name of another kind is a suggestion, not an answer.
    expect(await code(() => views.resolveRef('group:alice'))).toEqual({
      code: 'NOT_FOUND',
      hint: 'Did you mean user:default/alice?',
    });
    expect(await code(() => views.resolveRef('nothing-here'))).toMatchObject({
      code: 'NOT_FOUND',
      hint: expect.stringContaining('idp catalog:list'),
    });
    expect(await code(() => views.resolveRef('kind:/name'))).toMatchObject({
      code: 'INVALID_REF',
      hint: expect.stringContaining('[kind:][namespace/]name'),
    });
  });

  it('builds the dependency tree to the depth asked, marking missing entities and cycles', async () => {
    const shallow = await views.dependencies('payments-api', 1);
    expect(shallow.truncated).toBe(true);
    expect(shallow.root).toMatchObject({
      ref: 'component:default/payments-api',
      owner: 'group:default/payments',
      relation: null,
      missing: false,
    });
    expect(shallow.root.children).toEqual([
      {
        ref: 'component:default/users-api',
        kind: 'component',
        owner: 'group:default/platform',
        relation: 'dependsOn',
        missing: false,
        cycle: false,
        children: [],
      },
    ]);
    const deep = await views.dependencies('payments-api', 10);
    expect(deep.truncated).toBe(false);
    expect(deep.root.children[0]!.children).toEqual([
      {
        ref: 'resource:default/users-db',
        kind: 'resource',
        owner: null,
        relation: 'dependsOn',
        missing: true,
        cycle: false,
        children: [],
      },
    ]);
    const cycle = await views.dependencies('cyc-a', 10);
    expect(cycle.root.children[0]!.children[0]).toMatchObject({
      ref: 'component:default/cyc-a',
      cycle: true,
      children: [],
    });
  });

  it("reports who breaks, through APIs too, with each team's contact", async () => {
    const report = await views.impact('users-api');
    expect(report.dependents.map((d) => [d.ref, d.depth, d.via])).toEqual([
      ['component:default/payments-api', 1, 'component:default/users-api'],
      ['component:default/web', 1, 'component:default/users-api'],
    ]);
    // payments has no contact of its own; its parent's email is the answer, and only that step is kept.
    expect(report.dependents[0]!.oncall).toEqual({
      team: 'group:default/payments',
      contact: 'eng@acme.test',
      source: 'parent-group',
      route: ['group:default/engineering has the email eng@acme.test (spec.profile.email)'],
    });
    expect(report.teams).toEqual([
      {
        team: 'group:default/payments',
        contact: 'eng@acme.test',
        refs: ['component:default/payments-api', 'component:default/web'],
      },
    ]);
    expect((await views.impact('cyc-a')).cycles).toEqual([
      ['component:default/cyc-a', 'component:default/cyc-b', 'component:default/cyc-a'],
    ]);
  });

  it('finds the on-call contact: the rota first, then the annotation, then the email, up the parents', async () => {
    expect(await views.oncall('users-api')).toMatchObject({
      team: 'group:default/platform',
      contact: 'pagerduty:PLAT',
      source: 'annotation',
    });
    rota['platform'] = 'ops@acme.test';
    try {
      expect(await views.oncall('users-api')).toMatchObject({ contact: 'ops@acme.test', source: 'rota' });
    } finally {
      delete rota['platform'];
    }
    const full = await views.oncall('payments-api');
    expect(full).toMatchObject({ team: 'group:default/payments', contact: 'eng@acme.test', source: 'parent-group' });
    expect(full.route[0]).toBe('component:default/payments-api is owned by group:default/payments');
  });

  it('lists the teams with their members and what they own, and shows one', async () => {
    expect(await views.teams()).toEqual([
      { ref: 'group:default/engineering', name: 'engineering', displayName: null, parent: null, members: 2, owns: 0 },
      {
        ref: 'group:default/payments',
        name: 'payments',
        displayName: null,
        parent: 'group:default/engineering',
        members: 1,
        owns: 4,
      },
      {
        ref: 'group:default/platform',
        name: 'platform',
        displayName: null,
        parent: 'group:default/engineering',
        members: 1,
        owns: 2,
      },
    ]);
    const team = await views.team('payments');
    expect(team.members).toEqual([{ ref: 'user:default/alice', email: 'alice@acme.test', direct: true }]);
    expect(team.owns).toContainEqual({ ref: 'component:default/web', kind: 'component', type: 'website' });
    expect(team.oncall.contact).toBe('eng@acme.test');
    expect(await code(() => views.team('nobody'))).toEqual({
      code: 'NOT_FOUND',
      hint: 'List teams with `idp team:list`.',
    });
  });

  it('keeps one graph while the catalog is unchanged, and loads it again when the generation moves', async () => {
    const first = await views.graph();
    expect(await views.graph()).toBe(first);
    writeFileSync(
      join(dir, 'more.yaml'),
      doc('Component', 'billing', {
        type: 'service',
        lifecycle: 'production',
        owner: 'payments',
        dependsOn: ['component:payments-api'],
      }),
    );
    await load('more.yaml', true);
    const second = await views.graph();
    expect(second).not.toBe(first);
    expect((await views.impact('payments-api')).dependents.map((d) => d.ref)).toEqual(['component:default/billing']);
  });
});
