import { describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { templateModel, templateSummary } from './template-model.ts';

// A template as Backstage's docs write one, with the location annotation the catalog adds.
const ENTITY = {
  apiVersion: 'scaffolder.backstage.io/v1beta3',
  kind: 'Template',
  metadata: {
    name: 'node-service',
    title: 'Node.js service',
    description: 'An HTTP service with PostgreSQL',
    tags: ['recommended', 'node'],
    annotations: { 'backstage.io/managed-by-location': 'file:/srv/templates/node-service/template.yaml' },
  },
  spec: {
    owner: 'platform',
    type: 'service',
    parameters: [
      { title: 'Service', required: ['name'], properties: { name: { type: 'string', 'ui:autofocus': true } } },
    ],
    steps: [
      {
        id: 'fetch',
        name: 'Fetch skeleton',
        action: 'fetch:template',
        input: { url: './skeleton', values: { name: '${{ parameters.name }}' } },
      },
      {
        id: 'envs',
        action: 'debug:log',
        input: { message: '${{ each.value }}' },
        each: '${{ ["dev", "staging"] }}',
        if: '${{ parameters.name }}',
      },
      { id: 'publish', action: 'publish:git', if: true },
    ],
    output: {
      links: [
        { title: 'Repository', url: '${{ steps.publish.output.remoteUrl }}' },
        { title: 'In catalog', icon: 'catalog', entityRef: '${{ steps.register.output.entityRef }}' },
      ],
      text: [{ title: 'Next', content: 'Run `idp deploy`' }],
    },
  },
};

const clone = (): any => structuredClone(ENTITY);

function invalidField(entity: unknown): { field: unknown; message: string } {
  try {
    templateModel(entity);
  } catch (err) {
    expect(err).toBeInstanceOf(IdpError);
    expect((err as IdpError).code).toBe('TEMPLATE_INVALID');
    return { field: (err as IdpError).details.field, message: (err as IdpError).message };
  }
  throw new Error('expected TEMPLATE_INVALID');
}

describe('templateModel', () => {
  it('reads a Backstage template into the model', () => {
    const m = templateModel(ENTITY);
    expect(m).toMatchObject({
      ref: 'template:default/node-service',
      name: 'node-service',
      title: 'Node.js service',
      description: 'An HTTP service with PostgreSQL',
      owner: 'group:default/platform',
      type: 'service',
      tags: ['recommended', 'node'],
      location: { type: 'file', target: '/srv/templates/node-service/template.yaml' },
      parameters: ENTITY.spec.parameters,
    });
    expect(m.steps).toEqual([
      { id: 'fetch', name: 'Fetch skeleton', action: 'fetch:template', input: ENTITY.spec.steps[0]!.input },
      {
        id: 'envs',
        name: null,
        action: 'debug:log',
        input: { message: '${{ each.value }}' },
        each: '${{ ["dev", "staging"] }}',
        if: '${{ parameters.name }}',
      },
      { id: 'publish', name: null, action: 'publish:git', input: {}, if: true },
    ]);
    expect(m.output?.links).toHaveLength(2);
    expect(m.output?.text).toEqual([{ title: 'Next', content: 'Run `idp deploy`' }]);
    expect(templateSummary(m)).toEqual({
      ref: 'template:default/node-service',
      name: 'node-service',
      title: 'Node.js service',
      description: 'An HTTP service with PostgreSQL',
      owner: 'group:default/platform',
      type: 'service',
      tags: ['recommended', 'node'],
    });
  });

  it('reads the JSON text the catalog stores, a url location, owner refs and the minimal template', () => {
    const e = clone();
    e.metadata.annotations['backstage.io/managed-by-location'] = 'url:https://git.acme.test/t/template.yaml';
    e.spec.owner = 'user:alice';
    const m = templateModel(JSON.stringify(e));
    expect(m.location).toEqual({ type: 'url', target: 'https://git.acme.test/t/template.yaml' });
    expect(m.owner).toBe('user:default/alice');
    const bare = templateModel({
      apiVersion: ENTITY.apiVersion,
      kind: 'Template',
      metadata: { name: 'x', namespace: 'Team' },
      spec: {},
    });
    expect(bare).toMatchObject({
      ref: 'template:team/x',
      title: 'x',
      owner: null,
      type: null,
      tags: [],
      location: null,
      steps: [],
      output: null,
    });
  });

  it.each([
    ['no name', (e: any) => delete e.metadata.name, 'metadata.name'],
    ['another kind', (e: any) => (e.kind = 'Component'), 'kind'],
    ['an old apiVersion', (e: any) => (e.apiVersion = 'scaffolder.backstage.io/v1beta2'), 'apiVersion'],
    ['no spec', (e: any) => delete e.spec, 'spec'],
    ['tags not strings', (e: any) => (e.metadata.tags = ['a', 1]), 'metadata.tags'],
    ['an owner not a string', (e: any) => (e.spec.owner = { name: 'x' }), 'spec.owner'],
    ['steps not a list', (e: any) => (e.spec.steps = { id: 'a' }), 'spec.steps'],
    ['a step not an object', (e: any) => (e.spec.steps[1] = 'publish:git'), 'spec.steps[1]'],
    ['a step without id', (e: any) => delete e.spec.steps[1].id, 'spec.steps[1].id'],
    ['a step id with spaces', (e: any) => (e.spec.steps[1].id = 'my step'), 'spec.steps[1].id'],
    ['a repeated step id', (e: any) => (e.spec.steps[2].id = 'fetch'), 'spec.steps[2].id'],
    ['a step without action', (e: any) => delete e.spec.steps[0].action, 'spec.steps[0].action'],
    ['an action not an id', (e: any) => (e.spec.steps[0].action = 'fetch template!'), 'spec.steps[0].action'],
    ['input not an object', (e: any) => (e.spec.steps[0].input = ['a']), 'spec.steps[0].input'],
    ['if a number', (e: any) => (e.spec.steps[0].if = 1), 'spec.steps[0].if'],
    ['each a number', (e: any) => (e.spec.steps[1].each = 3), 'spec.steps[1].each'],
    ['each a plain string', (e: any) => (e.spec.steps[1].each = 'dev,staging'), 'spec.steps[1].each'],
    ['parameters a string', (e: any) => (e.spec.parameters = 'name'), 'spec.parameters'],
    ['a parameter page not an object', (e: any) => e.spec.parameters.push(3), 'spec.parameters[1]'],
    ['output a list', (e: any) => (e.spec.output = []), 'spec.output'],
    ['a link without url or entityRef', (e: any) => (e.spec.output.links[0] = { title: 'x' }), 'spec.output.links[0]'],
    ['a link url not a string', (e: any) => (e.spec.output.links[0].url = 3), 'spec.output.links[0].url'],
    ['a text without content', (e: any) => (e.spec.output.text[0] = { title: 'x' }), 'spec.output.text[0].content'],
    [
      'too many steps',
      (e: any) => (e.spec.steps = Array.from({ length: 101 }, (_, i) => ({ id: `s${i}`, action: 'debug:log' }))),
      'spec.steps',
    ],
  ])('refuses %s with TEMPLATE_INVALID naming the field', (_name, spoil, field) => {
    const e = clone();
    spoil(e);
    const got = invalidField(e);
    expect(got.field).toBe(field);
    expect(got.message).toMatch(
      new RegExp(`^template:default/(node-service|\\?): ${field.replace(/[[\].]/g, '\\$&')} `),
    );
  });

  it('refuses what is not an entity', () => {
    expect(invalidField('{not json').field).toBe('(entity)');
    expect(invalidField(null).field).toBe('(entity)');
  });
});
