// The parameters' JSON Schema for tasks: the pages as one schema (all of them must hold), defaults
// applied, and every problem reported with its JSON path in one TEMPLATE_PARAMETERS_INVALID.
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { IdpError, type TemplateParameter } from '@idp/contracts';
import type { ParameterSchemas } from './task-deps.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** ui:* keys are for forms: kept in the pages, dropped from the schema values are checked against. */
function withoutUi(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutUi);
  if (!isObject(v)) return v;
  return Object.fromEntries(
    Object.entries(v)
      .filter(([k]) => !k.startsWith('ui:'))
      .map(([k, x]) => [k, withoutUi(x)]),
  );
}

export function mergePages(pages: Record<string, unknown>[]): Record<string, unknown> {
  const parts = pages.map((p) => {
    const rest = withoutUi(p) as Record<string, unknown>;
    delete rest.title;
    delete rest.description;
    return rest;
  });
  return { type: 'object', allOf: parts };
}

function pathOf(e: ErrorObject): string {
  const base = e.instancePath
    .split('/')
    .slice(1)
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (e.keyword === 'required') base.push(String((e.params as { missingProperty: string }).missingProperty));
  if (e.keyword === 'dependencies' || e.keyword === 'dependentRequired')
    base.push(String((e.params as { missingProperty: string }).missingProperty));
  return ['$', ...base.map((s) => (/^[A-Za-z_$][\w$]*$/.test(s) ? `.${s}` : `[${JSON.stringify(s)}]`))].join('');
}

export function ajvParameterSchemas(): ParameterSchemas {
  const ajv = addFormats(new Ajv({ allErrors: true, strict: false, useDefaults: true }));
  return {
    validate(pages, values) {
      const copy = structuredClone(values);
      const validate = ajv.compile(mergePages(pages));
      if (validate(copy)) return copy;
      const seen = new Set<string>();
      const problems: { path: string; message: string }[] = [];
      for (const e of validate.errors ?? []) {
        // allOf/oneOf summaries repeat what their branches said.
        if (e.keyword === 'allOf' || e.keyword === 'if') continue;
        const p = { path: pathOf(e), message: e.message ?? 'is invalid' };
        if (e.keyword === 'enum')
          p.message = `must be one of ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}`;
        const key = `${p.path}\u0000${p.message}`;
        if (seen.has(key)) continue;
        seen.add(key);
        problems.push(p);
      }
      throw new IdpError(
        'TEMPLATE_PARAMETERS_INVALID',
        `the values do not fit the template's parameters: ${problems.map((p) => `${p.path} ${p.message}`).join('; ')}`,
        { problems },
      );
    },
    describe(pages) {
      const parameters: TemplateParameter[] = [];
      pages.forEach((page, i) => {
        const props = isObject(page.properties) ? page.properties : {};
        const required = new Set(Array.isArray(page.required) ? page.required.map(String) : []);
        for (const [name, raw] of Object.entries(props)) {
          const p = isObject(raw) ? raw : {};
          parameters.push({
            name,
            page: i + 1,
            title: typeof p.title === 'string' ? p.title : null,
            description: typeof p.description === 'string' ? p.description : null,
            type: typeof p.type === 'string' ? p.type : null,
            required: required.has(name),
            ...(p.default !== undefined ? { default: p.default } : {}),
            ...(Array.isArray(p.enum) ? { enum: p.enum } : {}),
            ...(typeof p.pattern === 'string' ? { pattern: p.pattern } : {}),
          });
        }
      });
      return { schema: mergePages(pages), parameters };
    },
  };
}
