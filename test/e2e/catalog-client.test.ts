// Drives our /api/catalog with Backstage's own, unchanged @backstage/catalog-client through the
// real HTTP server, and diffs its answers with Backstage's InMemoryCatalogClient fed the same
// entities (Backstage's own reference implementation of filters, ordering and facets).
import { CATALOG_FILTER_EXISTS, CatalogClient, type GetEntitiesRequest } from '@backstage/catalog-client';
import { InMemoryCatalogClient } from '@backstage/catalog-client/testUtils';
import type { Entity } from '@backstage/catalog-model';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../support/server.ts';

const refOf = (e: Entity) => `${e.kind}:${e.metadata.namespace ?? 'default'}/${e.metadata.name}`.toLowerCase();

describe('Backstage catalog API, through the official catalog-client', () => {
  let server: TestServer;
  let client: CatalogClient;
  let reference: InMemoryCatalogClient;
  let all: Entity[];
  let opts: { token: string };
  const dir = mkdtempSync(join(tmpdir(), 'idp-catalog-client-'));

  beforeAll(async () => {
    server = await startTestServer({ catalogTimer: false });
    opts = { token: server.adminToken };
    client = new CatalogClient({ discoveryApi: { getBaseUrl: async () => `${server.url}/api/catalog` } });
    all = (await client.getEntities({}, opts)).items;
    reference = new InMemoryCatalogClient({ entities: all });
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves entities with uid, etag, default namespace and computed relations', async () => {
    expect(all.length).toBeGreaterThanOrEqual(20);
    const api = all.find((e) => refOf(e) === 'component:default/payments-api')!;
    expect(api.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(api.metadata.etag).toBeTruthy();
    expect(api.metadata.namespace).toBe('default');
    const rels = (api.relations ?? []).map((r) => `${r.type} ${r.targetRef}`);
    expect(rels).toEqual(
      expect.arrayContaining([
        'ownedBy group:default/payments',
        'dependsOn component:default/users-api',
        'dependsOn component:default/notifications-service',
        'providesApi api:default/payments-api',
        'consumesApi api:default/users-api',
        'partOf system:default/checkout',
      ]),
    );
    const users = await client.getEntityByRef('component:users-api', opts);
    expect((users!.relations ?? []).map((r) => `${r.type} ${r.targetRef}`)).toEqual(
      expect.arrayContaining(['dependencyOf component:default/payments-api', 'ownedBy group:default/identity']),
    );
    const payments = await client.getEntityByRef('group:default/payments', opts);
    expect(
      (payments!.relations ?? [])
        .filter((r) => r.type === 'hasMember')
        .map((r) => r.targetRef)
        .sort(),
    ).toEqual(['user:default/alice', 'user:default/bob', 'user:default/carol']);
  });

  it('filters, orders and projects as Backstage does', async () => {
    const requests: GetEntitiesRequest[] = [
      { filter: { kind: 'component' } },
      { filter: { kind: 'Component', 'spec.type': 'service' } },
      { filter: [{ kind: 'api' }, { kind: 'system' }] },
      { filter: { 'relations.ownedBy': 'group:default/payments' } },
      { filter: { 'spec.owner': 'group:identity', kind: ['component', 'api'] } },
      { filter: { kind: 'component', 'spec.system': CATALOG_FILTER_EXISTS } },
    ];
    for (const request of requests) {
      const ours = (await client.getEntities(request, opts)).items.map(refOf).sort();
      const theirs = (await reference.getEntities(request)).items.map(refOf).sort();
      expect(ours, JSON.stringify(request)).toEqual(theirs);
    }
    const ordered = await client.getEntities(
      { filter: { kind: 'user' }, order: { field: 'metadata.name', order: 'desc' }, fields: ['metadata.name', 'kind'] },
      opts,
    );
    expect(ordered.items.map((e) => e.metadata.name)).toEqual(['frank', 'erin', 'dave', 'carol', 'bob', 'alice']);
    expect(Object.keys(ordered.items[0]!).sort()).toEqual(['kind', 'metadata']);
    const paged = await client.getEntities(
      { filter: { kind: 'user' }, order: { field: 'metadata.name', order: 'asc' }, limit: 2, offset: 2 },
      opts,
    );
    expect(paged.items.map((e) => e.metadata.name)).toEqual(['carol', 'dave']);
  });

  it('pages queryEntities with cursors and totalItems', async () => {
    const first = await client.queryEntities(
      { filter: { kind: 'user' }, limit: 4, orderFields: { field: 'metadata.name', order: 'asc' } },
      opts,
    );
    expect(first.totalItems).toBe(6);
    expect(first.items.map((e) => e.metadata.name)).toEqual(['alice', 'bob', 'carol', 'dave']);
    expect(first.pageInfo.nextCursor).toBeTruthy();
    const second = await client.queryEntities({ cursor: first.pageInfo.nextCursor!, limit: 4 }, opts);
    expect(second.items.map((e) => e.metadata.name)).toEqual(['erin', 'frank']);
    expect(second.pageInfo.nextCursor).toBeUndefined();
    expect(second.pageInfo.prevCursor).toBeTruthy();
    const back = await client.queryEntities({ cursor: second.pageInfo.prevCursor!, limit: 4 }, opts);
    expect(back.items.map((e) => e.metadata.name)).toEqual(['alice', 'bob', 'carol', 'dave']);
    const text = await client.queryEntities({ fullTextFilter: { term: 'PAYM', fields: ['metadata.name'] } }, opts);
    expect(text.items.map(refOf).sort()).toEqual([
      'api:default/payments-api',
      'component:default/payments-api',
      'group:default/payments',
      'resource:default/payments-db',
    ]);
  });

  it('answers by-refs in order with nulls, facets, and 404s as undefined', async () => {
    const res = await client.getEntitiesByRefs(
      { entityRefs: ['component:default/users-api', 'component:default/nope', 'group:default/identity'] },
      opts,
    );
    expect(res.items.map((e) => (e ? refOf(e) : null))).toEqual([
      'component:default/users-api',
      null,
      'group:default/identity',
    ]);
    const facets = await client.getEntityFacets(
      { facets: ['kind', 'spec.type'], filter: { kind: ['component', 'api'] } },
      opts,
    );
    const theirs = await reference.getEntityFacets({
      facets: ['kind', 'spec.type'],
      filter: { kind: ['component', 'api'] },
    });
    const norm = (f: typeof facets) =>
      Object.fromEntries(
        Object.entries(f.facets).map(([k, v]) => [k, [...v].sort((a, b) => a.value.localeCompare(b.value))]),
      );
    expect(norm(facets)).toEqual(norm(theirs));
    expect(await client.getEntityByRef('component:default/does-not-exist', opts)).toBeUndefined();
    const uid = all.find((e) => refOf(e) === 'component:default/auth-service')!.metadata.uid!;
    expect(refOf((await client.getEntityByRef('component:auth-service', opts))!)).toBe(
      'component:default/auth-service',
    );
    const byUid = await fetch(`${server.url}/api/catalog/entities/by-uid/${uid}`, {
      headers: { authorization: `Bearer ${server.adminToken}` },
    });
    expect(byUid.status).toBe(200);
  });

  it('registers, lists, refreshes and removes locations; validates entities', async () => {
    const file = join(dir, 'catalog-info.yaml');
    writeFileSync(
      file,
      'apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: ledger}\nspec: {type: service, lifecycle: experimental, owner: group:payments}\n',
    );
    const added = await client.addLocation({ type: 'file', target: file }, opts);
    expect(added.entities.map(refOf)).toEqual(['component:default/ledger']);
    expect((await client.getLocations({}, opts)).items.map((l) => l.target)).toContain(file);
    expect(await client.getLocationById(added.location.id, opts)).toMatchObject({
      id: added.location.id,
      target: file,
    });
    await expect(client.addLocation({ type: 'file', target: file }, opts)).rejects.toMatchObject({
      response: { status: 409 },
      cause: { message: expect.stringMatching(/already registered/) },
    });
    expect(await client.getLocationByEntity('component:default/ledger', opts)).toMatchObject({ id: added.location.id });

    writeFileSync(
      file,
      'apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata: {name: ledger, description: now described}\nspec: {type: service, lifecycle: experimental, owner: group:payments}\n',
    );
    await client.refreshEntity('component:default/ledger', opts);
    expect((await client.getEntityByRef('component:ledger', opts))!.metadata.description).toBe('now described');

    await client.removeLocationById(added.location.id, opts);
    expect(await client.getLocationById(added.location.id, opts)).toBeUndefined();
    expect(await client.getEntityByRef('component:ledger', opts)).toBeUndefined();

    expect(
      await client.validateEntity(
        {
          apiVersion: 'backstage.io/v1alpha1',
          kind: 'Component',
          metadata: { name: 'ok' },
          spec: { type: 'service', lifecycle: 'x', owner: 'me' },
        },
        'url:http://example.com/x',
        opts,
      ),
    ).toEqual({ valid: true });
    const bad = await client.validateEntity(
      {
        apiVersion: 'backstage.io/v1alpha1',
        kind: 'Component',
        metadata: { name: 'Not A Valid Name!' },
        spec: {},
      } as Entity,
      'url:http://example.com/x',
      opts,
    );
    expect(bad.valid).toBe(false);
  });
});
