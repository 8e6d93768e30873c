import { describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { mergeParameters, parameterSchemas, validateValues } from './parameters.ts';

// Backstage's parameter pages, as its docs write them: a list of pages with ui:* keys, required,
// enum, default, pattern, dependencies/oneOf and if/then.
const PAGES = [
  {
    title: 'Service',
    required: ['name', 'owner'],
    properties: {
      name: { title: 'Name', type: 'string', pattern: '^[a-z][a-z0-9-]{1,30}$', 'ui:autofocus': true },
      owner: {
        title: 'Owner',
        type: 'string',
        'ui:field': 'OwnerPicker',
        'ui:options': { catalogFilter: { kind: 'Group' } },
      },
      port: { title: 'Port', type: 'integer', default: 8080, minimum: 1024 },
    },
  },
  {
    title: 'Storage',
    properties: {
      database: { title: 'Database', type: 'string', enum: ['none', 'postgres'], default: 'postgres' },
      dbSize: { type: 'string' },
      lang: { type: 'string', enum: ['node', 'go'], default: 'node' },
    },
    dependencies: {
      database: {
        oneOf: [
          { properties: { database: { enum: ['none'] } } },
          { properties: { database: { enum: ['postgres'] } }, required: ['dbSize'] },
        ],
      },
    },
    if: { properties: { lang: { const: 'go' } } },
    then: {
      required: ['goModule'],
      properties: { goVersion: { type: 'string', default: '1.22' }, goModule: { type: 'string' } },
    },
  },
];

function problemsOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(IdpError);
    expect((err as IdpError).code).toBe('TEMPLATE_PARAMETERS_INVALID');
    return (err as IdpError).details.problems as { path: string; message: string }[];
  }
  throw new Error('expected TEMPLATE_PARAMETERS_INVALID');
}

describe('mergeParameters', () => {
  it('merges the pages into one schema without ui:* keys and keeps the pages as written', () => {
    const { schema, pages, table } = mergeParameters(PAGES);
    expect(pages).toEqual(PAGES);
    expect(JSON.stringify(schema)).not.toContain('ui:');
    expect(schema).toMatchObject({ type: 'object', required: ['name', 'owner'] });
    expect(Object.keys(schema.properties as object)).toEqual(['name', 'owner', 'port', 'database', 'dbSize', 'lang']);
    expect((schema.allOf as unknown[])[0]).toHaveProperty('dependencies');
    expect(table.map((p) => [p.name, p.page, p.required, p.type])).toEqual([
      ['name', 1, true, 'string'],
      ['owner', 1, true, 'string'],
      ['port', 1, false, 'integer'],
      ['database', 2, false, 'string'],
      ['dbSize', 2, false, 'string'],
      ['lang', 2, false, 'string'],
    ]);
    expect(table[0]).toMatchObject({ title: 'Name', pattern: '^[a-z][a-z0-9-]{1,30}$' });
    expect(table[3]).toMatchObject({ default: 'postgres', enum: ['none', 'postgres'] });
  });

  it('takes one schema object as one page, and nothing as no parameters', () => {
    expect(mergeParameters(PAGES[0]).table).toHaveLength(3);
    expect(mergeParameters(undefined)).toEqual({ schema: { type: 'object', properties: {} }, pages: [], table: [] });
  });

  it('refuses a malformed or oversized spec.parameters with TEMPLATE_INVALID naming the field', () => {
    const field = (p: unknown) => {
      try {
        mergeParameters(p);
      } catch (err) {
        expect((err as IdpError).code).toBe('TEMPLATE_INVALID');
        return (err as IdpError).details.field;
      }
      return null;
    };
    expect(field([PAGES[0], 'nope'])).toBe('spec.parameters[1]');
    expect(field({ properties: [] })).toBe('spec.parameters.properties');
    expect(field({ required: 'name' })).toBe('spec.parameters.required');
    let deep: Record<string, unknown> = { type: 'string' };
    for (let i = 0; i < 40; i++) deep = { type: 'object', properties: { x: deep } };
    expect(field(deep)).toMatch(/^spec\.parameters/);
    const wide = {
      properties: Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`p${i}`, { type: 'string' }])),
    };
    expect(field(wide)).toBe('spec.parameters');
    expect(field({ properties: { a: { type: 'string', pattern: '^(' } } })).toBe(
      'spec.parameters[0].properties.a.pattern',
    );
    // Needs the backtracking engine (a backreference) and nests quantifiers: refused.
    expect(field({ properties: { a: { pattern: '^(a+)+\\1$' } } })).toBe('spec.parameters[0].properties.a.pattern');
    expect(field({ patternProperties: { '(?=x)(x*)*': {} } })).toBe('spec.parameters[0].patternProperties');
    // Runs in linear time: accepted, however it nests (Backstage templates use such patterns).
    expect(
      field({
        properties: {
          a: { pattern: '^[a-z][a-z0-9-]{1,30}$' },
          b: { pattern: '^([a-z0-9]+-)*[a-z0-9]+$' },
          c: { pattern: '^(a+)+$' },
          d: { pattern: '^\\p{L}+$' },
        },
      }),
    ).toBeNull();
    expect(() => validateValues({ type: 'object', properties: { a: { type: 'nonsense' } } }, {})).toThrow(
      /not a valid JSON Schema/,
    );
  });
});

describe('validateValues', () => {
  const { schema } = mergeParameters(PAGES);

  it('applies defaults and keeps the values given', () => {
    expect(validateValues(schema, { name: 'payments', owner: 'group:platform', dbSize: 'small' })).toEqual({
      name: 'payments',
      owner: 'group:platform',
      port: 8080,
      database: 'postgres',
      dbSize: 'small',
      lang: 'node',
    });
  });

  it('reports every problem with its JSON path in one error', () => {
    const problems = problemsOf(() =>
      validateValues(schema, { name: 'Payments!', port: 80, database: 'mysql', lang: 'go' }),
    );
    expect(problems).toEqual(
      expect.arrayContaining([
        { path: '/owner', message: 'is required' },
        { path: '/name', message: 'must match the pattern ^[a-z][a-z0-9-]{1,30}$' },
        { path: '/port', message: 'must be >= 1024' },
        { path: '/database', message: 'must be one of "none", "postgres"' },
        { path: '/goModule', message: 'is required' },
        { path: '/database', message: 'must match exactly one of the allowed shapes for database (it matches none)' },
      ]),
    );
    expect(problems.every((p) => p.path.startsWith('/'))).toBe(true);
    expect(new Set(problems.map((p) => `${p.path} ${p.message}`)).size).toBe(problems.length);
  });

  it('follows dependencies/oneOf and if/then as JSON Schema says', () => {
    // postgres needs a size: the oneOf matches neither shape.
    expect(problemsOf(() => validateValues(schema, { name: 'a1', owner: 'o', database: 'postgres' }))).toEqual([
      { path: '/database', message: 'must match exactly one of the allowed shapes for database (it matches none)' },
    ]);
    expect(validateValues(schema, { name: 'a1', owner: 'o', database: 'none' })).toMatchObject({ database: 'none' });
    // then's default applies once its if holds.
    expect(
      validateValues(schema, { name: 'a1', owner: 'o', database: 'none', lang: 'go', goModule: 'acme/x' }),
    ).toMatchObject({ goVersion: '1.22', goModule: 'acme/x' });
    expect(problemsOf(() => validateValues(schema, { name: 'a1', owner: 'o', database: 'none', lang: 'go' }))).toEqual([
      { path: '/goModule', message: 'is required' },
    ]);
    // A branch that does not hold leaves its defaults out.
    expect(validateValues(schema, { name: 'a1', owner: 'o', database: 'none' })).not.toHaveProperty('goVersion');
    const deps = mergeParameters({
      properties: { a: { type: 'string' }, b: { type: 'string' } },
      dependencies: { a: ['b'] },
    });
    expect(problemsOf(() => validateValues(deps.schema, { a: 'x' }))).toEqual([
      { path: '/b', message: 'is required when a is given' },
    ]);
  });

  it('checks patterns in linear time: a catastrophic pattern does not stall the control plane', () => {
    const { schema: s } = mergeParameters({
      properties: { a: { type: 'string', pattern: '^(a+)+$' }, b: { pattern: '^\\p{Lu}' } },
    });
    const t0 = performance.now();
    expect(problemsOf(() => validateValues(s, { a: `${'a'.repeat(5000)}!`, b: 'x' }))).toEqual([
      { path: '/a', message: 'must match the pattern ^(a+)+$' },
      { path: '/b', message: 'must match the pattern ^\\p{Lu}' },
    ]);
    expect(validateValues(s, { a: 'aaaa', b: 'Ä' })).toEqual({ a: 'aaaa', b: 'Ä' });
    expect(performance.now() - t0).toBeLessThan(1000);
  });

  it('does not change the values it was given', () => {
    const values = { name: 'svc', owner: 'o', database: 'none' };
    validateValues(schema, values);
    expect(values).toEqual({ name: 'svc', owner: 'o', database: 'none' });
  });

  it('serves the task runner through parameterSchemas()', () => {
    const ps = parameterSchemas();
    expect(ps.describe(PAGES).parameters).toHaveLength(6);
    expect(ps.validate(PAGES, { name: 'svc', owner: 'o', database: 'none' })).toMatchObject({ port: 8080 });
  });
});
