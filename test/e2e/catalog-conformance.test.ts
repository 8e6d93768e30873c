// The catalog-info.yaml of idp's first design (spec.dependencies shorthand, no lifecycle) is
// accepted: its dependencies become dependsOn relations that impact follows, the missing lifecycle
// is a warning listed apart from errors, and Backstage's own client and model accept what the
// Backstage API serves. Placeholders resolve relative to the entity's file; every refused document
// says what is wrong in the file's terms; impact reports page with a cursor.
import { CatalogClient } from '@backstage/catalog-client';
import {
  EntityPolicies,
  DefaultNamespaceEntityPolicy,
  FieldFormatEntityPolicy,
  NoForeignRootFieldsEntityPolicy,
  SchemaValidEntityPolicy,
  componentEntityV1alpha1Validator,
  type Entity,
} from '@backstage/catalog-model';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acmeConfigWith } from '../support/config.ts';
import { api, startTestServer, type TestServer } from '../support/server.ts';

const DESIGN = `apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: payments-api
spec:
  type: service
  owner: team-payments
  dependencies:
    - component: users-api
    - component: notifications-service
`;
const component = (name: string, extra = '') =>
  `apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: service\n  lifecycle: production\n  owner: team-payments\n${extra}`;

describe('catalog conformance: the design file, placeholders, errors in the file’s terms, impact pages', () => {
  let server: TestServer;
  let client: CatalogClient;
  let opts: { token: string };
  const dir = mkdtempSync(join(tmpdir(), 'idp-catalog-conformance-'));
  let locationId = '';

  beforeAll(async () => {
    server = await startTestServer({
      catalogTimer: false,
      configPath: acmeConfigWith('catalog-conformance', ['catalog', 'locations'], ['./catalog']),
    });
    opts = { token: server.adminToken };
    client = new CatalogClient({ discoveryApi: { getBaseUrl: async () => `${server.url}/api/catalog` } });
    mkdirSync(join(dir, 'docs'));
    writeFileSync(join(dir, 'docs/readme.md'), '# Users\n');
    writeFileSync(join(dir, 'docs/settings.json'), '{"retries": 3, "inner": {"$text": "./readme.md"}}');
    writeFileSync(
      join(dir, 'catalog-info.yaml'),
      [
        DESIGN,
        component(
          'users-api',
          '  description:\n    $text: ./docs/readme.md\n  settings:\n    $json: ./docs/settings.json\n',
        ),
        component('notifications-service', '  dependsOn: [component:users-api]\n'),
        'apiVersion: backstage.io/v1alpha1\nkind: Component\nspec:\n  type: service\n',
        component('typo', '  dependencies:\n    - componnet: users-api\n'),
        component('bad-type').replace('type: service', 'type: 3'),
      ].join('---\n'),
    );
    const res = await api(server, server.adminToken, 'POST', '/api/catalog/idp/locations', {
      target: dir,
      type: 'file',
    });
    expect(res.status, res.text).toBe(201);
    locationId = res.json.location.id;
    expect(res.json).toMatchObject({ added: 3, errors: 3 });
    expect(res.json.warnings).toEqual([
      expect.objectContaining({
        entityRef: 'component:default/payments-api',
        line: 1,
        message: expect.stringMatching(/^spec\.lifecycle is missing; .* "unknown"/),
      }),
    ]);
  });
  afterAll(async () => {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('accepts the design file: dependencies become dependsOn, and Backstage’s client and model accept it', async () => {
    const entity = (await client.getEntityByRef('component:default/payments-api', opts)) as Entity;
    expect(entity.spec).toMatchObject({
      lifecycle: 'unknown',
      dependsOn: ['component:users-api', 'component:notifications-service'],
    });
    expect(entity.spec).not.toHaveProperty('dependencies');
    expect((entity.relations ?? []).map((r) => `${r.type} ${r.targetRef}`)).toEqual(
      expect.arrayContaining([
        'dependsOn component:default/users-api',
        'dependsOn component:default/notifications-service',
      ]),
    );
    const policy = EntityPolicies.allOf([
      new DefaultNamespaceEntityPolicy(),
      new NoForeignRootFieldsEntityPolicy(),
      new FieldFormatEntityPolicy(),
      new SchemaValidEntityPolicy(),
    ]);
    // As it would be read back from a file: the policies check input, which carries no relations.
    const { relations: _relations, ...asInput } = entity;
    await expect(policy.enforce(asInput)).resolves.toBeDefined();
    await expect(componentEntityV1alpha1Validator.check(entity)).resolves.toBe(true);

    const impact = await api(server, server.adminToken, 'GET', '/api/catalog/idp/impact?ref=users-api');
    expect(impact.json.dependents.map((d: { ref: string }) => d.ref)).toEqual([
      'component:default/notifications-service',
      'component:default/payments-api',
    ]);
  });

  it('resolves placeholders relative to the file; what $json brings is not expanded again', async () => {
    const users = (await client.getEntityByRef('component:users-api', opts)) as Entity;
    expect(users.spec?.description).toBe('# Users\n');
    expect(users.spec?.settings).toEqual({ retries: 3, inner: { $text: './readme.md' } });
  });

  it('lists errors in the file’s terms and warnings apart', async () => {
    const res = await api(server, server.adminToken, 'GET', `/api/catalog/idp/errors?location=${locationId}`);
    const file = join(dir, 'catalog-info.yaml');
    const rows = res.json.items.map((e: Record<string, unknown>) => [e.severity, e.file, e.line, e.message]);
    expect(rows).toEqual([
      ['error', file, 35, expect.stringMatching(/^metadata is missing; every entity needs metadata/)],
      ['error', file, 40, expect.stringMatching(/^spec\.dependencies\[0\] is \{"componnet":"users-api"\}; each item/)],
      ['error', file, 51, 'spec.type must be string'],
      ['warning', file, 1, expect.stringMatching(/^spec\.lifecycle is missing/)],
    ]);
    const locations = await api(server, server.adminToken, 'GET', '/api/catalog/idp/locations');
    expect(locations.json.items.find((l: { id: string }) => l.id === locationId)).toMatchObject({
      errors: 3,
      warnings: 1,
    });
  });

  it('pages impact reports: the pages make the whole report, and a cursor outlives no catalog change', async () => {
    const path = '/api/catalog/idp/impact?ref=users-api';
    const whole = (await api(server, server.adminToken, 'GET', path)).json;
    const first = (await api(server, server.adminToken, 'GET', `${path}&limit=1`)).json;
    expect(first).toMatchObject({ total: 2, dependents: [whole.dependents[0]], nextCursor: expect.any(String) });
    expect(first.teams).toEqual([
      { team: 'group:default/team-payments', contact: null, refs: [whole.dependents[0].ref], total: 2 },
    ]);
    const second = (await api(server, server.adminToken, 'GET', `${path}&limit=1&cursor=${first.nextCursor}`)).json;
    expect(second).toMatchObject({ total: 2, dependents: [whole.dependents[1]], nextCursor: null });

    const other = await api(
      server,
      server.adminToken,
      'GET',
      `/api/catalog/idp/impact?ref=payments-api&limit=1&cursor=${first.nextCursor}`,
    );
    expect(other).toMatchObject({ status: 400, json: { error: { code: 'VALIDATION_FAILED' } } });
    await api(server, server.adminToken, 'POST', `/api/catalog/idp/locations/${locationId}/refresh`);
    writeFileSync(join(dir, 'more.yaml'), component('more'));
    await api(server, server.adminToken, 'POST', '/api/catalog/idp/locations', { target: join(dir, 'more.yaml') });
    const stale = await api(server, server.adminToken, 'GET', `${path}&limit=1&cursor=${first.nextCursor}`);
    expect(stale).toMatchObject({ status: 409, json: { error: { code: 'CATALOG_CURSOR_STALE' } } });
  });
});
