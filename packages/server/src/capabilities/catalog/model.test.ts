import { describe, expect, it } from 'vitest';
import type { Entity } from '@backstage/catalog-model';
import { parseFilterParams, parsePredicate } from './filters.ts';
import { relationsOf, toEntityRelations } from './relations.ts';
import { buildSearchRows, parseFieldsParam, projectFields } from './search.ts';
import { validateEntity } from './validate.ts';

const component = (spec: Record<string, unknown>, namespace?: string): Entity => ({
  apiVersion: 'backstage.io/v1alpha1',
  kind: 'Component',
  metadata: { name: 'payments-api', ...(namespace ? { namespace } : {}) },
  spec: { type: 'service', lifecycle: 'production', owner: 'payments', ...spec },
});

describe('relations, as Backstage computes them', () => {
  it('emits both directions with Backstage default kinds, in the entity namespace', () => {
    const rows = relationsOf(
      component(
        {
          system: 'payments',
          providesApis: ['payments-rest'],
          consumesApis: ['api:users-rest'],
          dependsOn: ['component:users-api', 'resource:ops/payments-db'],
          subcomponentOf: 'checkout',
        },
        'shop',
      ),
    );
    const self = 'component:shop/payments-api';
    expect(rows).toEqual(
      expect.arrayContaining([
        { source: self, type: 'ownedBy', target: 'group:shop/payments' },
        { source: 'group:shop/payments', type: 'ownerOf', target: self },
        { source: self, type: 'partOf', target: 'system:shop/payments' },
        { source: self, type: 'partOf', target: 'component:shop/checkout' },
        { source: self, type: 'providesApi', target: 'api:shop/payments-rest' },
        { source: 'api:shop/payments-rest', type: 'apiProvidedBy', target: self },
        { source: self, type: 'consumesApi', target: 'api:shop/users-rest' },
        { source: 'api:shop/users-rest', type: 'apiConsumedBy', target: self },
        { source: self, type: 'dependsOn', target: 'component:shop/users-api' },
        { source: self, type: 'dependsOn', target: 'resource:ops/payments-db' },
        { source: 'resource:ops/payments-db', type: 'dependencyOf', target: self },
      ]),
    );
    expect(rows).toHaveLength(14);
  });

  it('requires a kind on dependsOn, as Backstage does', () => {
    expect(() => relationsOf(component({ dependsOn: ['users-api'] }))).toThrow(/dependsOn.*missing or empty kind/);
  });

  it('covers groups, users, systems, domains, resources and templates', () => {
    const group: Entity = {
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Group',
      metadata: { name: 'payments' },
      spec: { type: 'team', parent: 'engineering', children: ['payouts'], members: ['alice'] },
    };
    expect(relationsOf(group).filter((r) => r.source === 'group:default/payments')).toEqual([
      { source: 'group:default/payments', type: 'childOf', target: 'group:default/engineering' },
      { source: 'group:default/payments', type: 'parentOf', target: 'group:default/payouts' },
      { source: 'group:default/payments', type: 'hasMember', target: 'user:default/alice' },
    ]);
    const user: Entity = {
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'User',
      metadata: { name: 'alice' },
      spec: { memberOf: ['payments'] },
    };
    expect(relationsOf(user)).toContainEqual({
      source: 'group:default/payments',
      type: 'hasMember',
      target: 'user:default/alice',
    });
    const system: Entity = {
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'System',
      metadata: { name: 'shop' },
      spec: { owner: 'user:bob', domain: 'commerce' },
    };
    expect(relationsOf(system)).toEqual(
      expect.arrayContaining([
        { source: 'system:default/shop', type: 'ownedBy', target: 'user:default/bob' },
        { source: 'system:default/shop', type: 'partOf', target: 'domain:default/commerce' },
      ]),
    );
    const domain: Entity = {
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Domain',
      metadata: { name: 'commerce' },
      spec: { owner: 'x', subdomainOf: 'business' },
    };
    expect(relationsOf(domain)).toContainEqual({
      source: 'domain:default/commerce',
      type: 'partOf',
      target: 'domain:default/business',
    });
    const resource: Entity = {
      apiVersion: 'backstage.io/v1alpha1',
      kind: 'Resource',
      metadata: { name: 'db' },
      spec: { type: 'database', owner: 'x', dependencyOf: ['component:api'] },
    };
    expect(relationsOf(resource)).toContainEqual({
      source: 'component:default/api',
      type: 'dependsOn',
      target: 'resource:default/db',
    });
    const template: Entity = {
      apiVersion: 'scaffolder.backstage.io/v1beta3',
      kind: 'Template',
      metadata: { name: 't' },
      spec: { type: 'service', owner: 'platform', steps: [] },
    };
    expect(relationsOf(template)).toContainEqual({
      source: 'template:default/t',
      type: 'ownedBy',
      target: 'group:default/platform',
    });
  });

  it('serves relations deduplicated and sorted, with the legacy target object', () => {
    expect(
      toEntityRelations([
        { type: 'ownedBy', target: 'group:default/b' },
        { type: 'dependsOn', target: 'component:default/z' },
        { type: 'ownedBy', target: 'group:default/b' },
        { type: 'dependsOn', target: 'component:default/a' },
      ]),
    ).toEqual([
      {
        type: 'dependsOn',
        targetRef: 'component:default/a',
        target: { kind: 'component', namespace: 'default', name: 'a' },
      },
      {
        type: 'dependsOn',
        targetRef: 'component:default/z',
        target: { kind: 'component', namespace: 'default', name: 'z' },
      },
      { type: 'ownedBy', targetRef: 'group:default/b', target: { kind: 'group', namespace: 'default', name: 'b' } },
    ]);
  });
});

describe('validation', () => {
  it('defaults the namespace and accepts the supported kinds', async () => {
    const e = await validateEntity(component({}));
    expect(e.metadata.namespace).toBe('default');
    await expect(
      validateEntity({
        apiVersion: 'scaffolder.backstage.io/v1beta3',
        kind: 'Template',
        metadata: { name: 't' },
        spec: { type: 'x', steps: [{ action: 'fetch:plain' }] },
      }),
    ).resolves.toBeTruthy();
  });

  it('rejects bad names, missing spec fields, foreign root fields and unknown kinds with a reason', async () => {
    await expect(validateEntity({ ...component({}), metadata: { name: 'Not Valid!' } })).rejects.toThrow(
      /metadata\.name/,
    );
    await expect(validateEntity({ ...component({}), spec: { type: 'service' } })).rejects.toThrow(/lifecycle|owner/);
    await expect(validateEntity({ ...component({}), extra: 1 })).rejects.toThrow(/extra/);
    await expect(
      validateEntity({ apiVersion: 'backstage.io/v1alpha1', kind: 'Widget', metadata: { name: 'w' }, spec: {} }),
    ).rejects.toThrow(/unsupported kind Widget/);
    await expect(
      validateEntity({
        apiVersion: 'scaffolder.backstage.io/v1beta3',
        kind: 'Template',
        metadata: { name: 't' },
        spec: { type: 'x' },
      }),
    ).rejects.toThrow(/steps/);
    await expect(validateEntity('just a string')).rejects.toThrow(
      /the document is the string "just a string", not an entity/,
    );
  });
});

describe('search index', () => {
  const entity = {
    ...component({ tags: undefined }),
    metadata: {
      name: 'Payments-API',
      namespace: 'default',
      uid: 'u1',
      etag: 'e1',
      tags: ['Java', 'svc'],
      annotations: { 'backstage.io/orphan': 'true' },
      description: 'x'.repeat(300),
    },
    relations: [{ type: 'ownedBy', targetRef: 'group:default/payments' }],
    status: { items: [] },
  } as unknown as Entity;
  const rows = buildSearchRows(entity);
  const find = (key: string) => rows.filter((r) => r.key === key);

  it('indexes leaves lower-cased with their original value, array items, relations; not etag or status', () => {
    expect(find('metadata.name')).toEqual([{ key: 'metadata.name', value: 'payments-api', original: 'Payments-API' }]);
    expect(find('metadata.tags').map((r) => r.value)).toEqual(['java', 'svc']);
    expect(find('metadata.tags.java')).toEqual([{ key: 'metadata.tags.java', value: 'true', original: 'true' }]);
    expect(find('metadata.annotations.backstage.io/orphan')[0]!.value).toBe('true');
    expect(find('relations.ownedby')[0]!.value).toBe('group:default/payments');
    expect(find('metadata.uid')[0]!.value).toBe('u1');
    expect(find('metadata.etag')).toEqual([]);
    expect(rows.some((r) => r.key.startsWith('status'))).toBe(false);
  });

  it('keeps values over 200 characters findable by key only', () => {
    expect(find('metadata.description')).toEqual([{ key: 'metadata.description', value: null, original: null }]);
  });

  it('refuses keys that differ only in case', () => {
    expect(() => buildSearchRows({ ...component({}), spec: { a: 1, A: 2 } } as unknown as Entity)).toThrow(
      /differ only in case/,
    );
  });
});

describe('filter parameters', () => {
  it('ANDs conditions within a parameter, ORs parameters, lower-cases, and merges repeated keys', () => {
    expect(parseFilterParams(['kind=Component,spec.type=service', 'kind=group,spec.type'])).toEqual({
      anyOf: [
        {
          allOf: [
            { key: 'kind', values: ['component'] },
            { key: 'spec.type', values: ['service'] },
          ],
        },
        { allOf: [{ key: 'kind', values: ['group'] }, { key: 'spec.type' }] },
      ],
    });
    expect(parseFilterParams('kind=api,kind=component')).toEqual({
      anyOf: [{ allOf: [{ key: 'kind', values: ['api', 'component'] }] }],
    });
    expect(parseFilterParams(undefined)).toBeUndefined();
    expect(parseFilterParams(',')).toBeUndefined();
    expect(() => parseFilterParams('=x')).toThrow(/not a valid statement/);
  });

  it('parses Backstage filter predicates', () => {
    expect(
      parsePredicate({
        $all: [
          { kind: 'Component' },
          { 'spec.type': { $in: ['service', 'Website'] } },
          { $not: { 'spec.lifecycle': { $exists: true } } },
        ],
      }),
    ).toEqual({
      allOf: [
        { allOf: [{ key: 'kind', values: ['component'] }] },
        { allOf: [{ key: 'spec.type', values: ['service', 'website'] }] },
        { not: { allOf: [{ key: 'spec.lifecycle' }] } },
      ],
    });
    expect(parsePredicate({ 'metadata.name': { $hasPrefix: 'Pay' } })).toEqual({
      allOf: [{ key: 'metadata.name', prefix: 'pay' }],
    });
    expect(parsePredicate({ relations: { $contains: { type: 'ownedBy', targetRef: 'group:default/x' } } })).toEqual({
      allOf: [{ key: 'relations.ownedby', values: ['group:default/x'] }],
    });
    expect(() => parsePredicate('component')).toThrow(/top-level primitive/);
    expect(() => parsePredicate({ kind: { $regex: 'x' } })).toThrow(/Invalid filter predicate value/);
  });
});

describe('fields', () => {
  const entity = {
    kind: 'Component',
    metadata: { name: 'a', annotations: { 'backstage.io/orphan': 'true', x: 'y' } },
    spec: { owner: 'g' },
  };

  it('keeps whole subtrees and resolves keys that contain dots', () => {
    expect(parseFieldsParam(['kind,metadata.name', ' spec '])).toEqual(['kind', 'metadata.name', 'spec']);
    expect(projectFields(entity, ['kind', 'metadata.name', 'spec'])).toEqual({
      kind: 'Component',
      metadata: { name: 'a' },
      spec: { owner: 'g' },
    });
    expect(projectFields(entity, ['metadata.annotations.backstage.io/orphan'])).toEqual({
      metadata: { annotations: { 'backstage.io/orphan': 'true' } },
    });
    expect(projectFields(entity, ['metadata.nope', 'relations'])).toEqual({});
  });
});
