// A template's parameters: spec.parameters (one JSON Schema object or a list of them, one per
// form page, as Backstage writes them) merged into the one schema values are checked against,
// and the check itself: defaults applied, EVERY problem reported with its JSON path in one
// TEMPLATE_PARAMETERS_INVALID. Backstage checks the values against each page in turn; the merged
// schema says the same (top-level properties and required joined, every other keyword of a page,
// e.g. dependencies, oneOf, if/then, kept in an allOf). `ui:*` keys are for forms: kept in the
// pages, removed from what ajv sees.
import v8 from 'node:v8';
import { Ajv, type CodeOptions, type ErrorObject, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { IdpError, type TemplateParameter } from '@idp/contracts';
import type { ParameterSchemas } from './task-deps.ts';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

export interface MergedParameters {
  /** The one JSON Schema (without ui:* keys) values are validated against. */
  schema: Record<string, unknown>;
  /** spec.parameters as written, one object per page (ui:* kept for forms). */
  pages: Record<string, unknown>[];
  table: TemplateParameter[];
}

export interface ParameterProblem {
  /** JSON pointer of the value at fault, e.g. /name or /db/size. */
  path: string;
  message: string;
}

/** Bounds on a template's schema: a template comes from any catalog location. */
export const SCHEMA_LIMITS = { maxDepth: 32, maxNodes: 5000, maxPages: 50 } as const;

/** Keys whose values are data, not schemas: ui:* stripping and size counting do not rewrite them. */
const DATA_KEYS = new Set(['default', 'enum', 'const', 'examples']);
/** Keys whose values map property names to schemas: their own keys are names, never stripped. */
const NAME_MAPS = new Set([
  'properties',
  'patternProperties',
  'dependencies',
  'dependentSchemas',
  '$defs',
  'definitions',
]);

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function invalid(field: string, why: string): IdpError {
  return new IdpError('TEMPLATE_INVALID', `${field} ${why}`, { field });
}

/** spec.parameters as pages: undefined → none, an object → one, a list → each (objects only). */
export function parameterPages(parameters: unknown): Record<string, unknown>[] {
  if (parameters === undefined || parameters === null) return [];
  const pages = Array.isArray(parameters) ? parameters : [parameters];
  if (pages.length > SCHEMA_LIMITS.maxPages) {
    throw invalid('spec.parameters', `has ${pages.length} pages, more than the ${SCHEMA_LIMITS.maxPages} allowed`);
  }
  pages.forEach((page, i) => {
    const field = Array.isArray(parameters) ? `spec.parameters[${i}]` : 'spec.parameters';
    if (!isObject(page)) throw invalid(field, 'must be a JSON Schema object');
    if (page.properties !== undefined && !isObject(page.properties)) {
      throw invalid(`${field}.properties`, 'must be an object of property schemas');
    }
    if (
      page.required !== undefined &&
      !(Array.isArray(page.required) && page.required.every((r) => typeof r === 'string'))
    ) {
      throw invalid(`${field}.required`, 'must be a list of property names');
    }
  });
  let nodes = 0;
  const walk = (v: unknown, depth: number, field: string): void => {
    if (depth > SCHEMA_LIMITS.maxDepth) throw invalid(field, `nests deeper than ${SCHEMA_LIMITS.maxDepth} levels`);
    if (++nodes > SCHEMA_LIMITS.maxNodes) {
      throw invalid('spec.parameters', `has more than ${SCHEMA_LIMITS.maxNodes} schema nodes`);
    }
    if (Array.isArray(v)) v.forEach((x, i) => walk(x, depth + 1, `${field}[${i}]`));
    else if (isObject(v)) {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'pattern' && typeof x === 'string') checkPattern(x, `${field}.pattern`);
        if (k === 'patternProperties' && isObject(x)) for (const p of Object.keys(x)) checkPattern(p, `${field}.${k}`);
        walk(x, depth + 1, `${field}.${k}`);
      }
    }
  };
  walk(pages, 0, 'spec.parameters');
  return pages as Record<string, unknown>[];
}

/** A quantified group that itself holds a quantifier, e.g. (a+)+ or (\w+\s?)*: may backtrack exponentially. */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*(?:[+*]|\{\d+,\d*\})(?:[^()\\]|\\.)*\)(?:[+*]|\{\d+,\d*\})/;

let linearEngine = false;

/**
 * Patterns run in the control plane against values anyone may send, so they run on V8's
 * linear-time regexp engine (the `l` flag): no catastrophic backtracking, whatever the pattern.
 * That engine takes neither `u` nor backreferences and lookarounds; a pattern that needs them runs
 * on the ordinary engine, and is refused if it nests quantifiers (the backtracking kind).
 */
export const linearRegExp: NonNullable<CodeOptions['regExp']> = Object.assign(
  (pattern: string, flags: string): RegExp => {
    if (!/\\[pPu]\{/.test(pattern)) {
      if (!linearEngine) {
        // Only makes the `l` flag available; no other regexp changes behaviour.
        v8.setFlagsFromString('--enable-experimental-regexp-engine');
        linearEngine = true;
      }
      try {
        return new RegExp(pattern, `${flags.replace('u', '')}l`);
      } catch {
        // Backreferences or lookarounds: the ordinary engine below.
      }
    }
    if (NESTED_QUANTIFIER.test(pattern)) {
      throw new Error(
        'it nests quantifiers, which can take exponential time; write it without a repeated group that repeats',
      );
    }
    return new RegExp(pattern, flags);
  },
  { code: 'new RegExp' },
);

/** A pattern that cannot compile, is very long, or could backtrack without end is refused up front. */
function checkPattern(pattern: string, field: string): void {
  if (pattern.length > 1000) throw invalid(field, 'is longer than 1000 characters');
  try {
    new RegExp(pattern, 'u');
    linearRegExp(pattern, 'u');
  } catch (err) {
    throw invalid(field, `is not a usable regular expression: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A deep copy of a schema without ui:* keys (property names and data values untouched). */
export function withoutUi(schema: unknown, names = false): unknown {
  if (Array.isArray(schema)) return schema.map((s) => withoutUi(s));
  if (!isObject(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (!names && k.startsWith('ui:')) continue;
    if (names) out[k] = withoutUi(v);
    else if (DATA_KEYS.has(k)) out[k] = structuredClone(v);
    else out[k] = withoutUi(v, NAME_MAPS.has(k));
  }
  return out;
}

/** Merges spec.parameters into one schema, keeps the pages, and lists the parameters for tables. */
export function mergeParameters(parameters: unknown): MergedParameters {
  const pages = parameterPages(parameters);
  const properties: Record<string, unknown> = {};
  const required: string[] = [];
  const allOf: Record<string, unknown>[] = [];
  const table: TemplateParameter[] = [];
  pages.forEach((page, i) => {
    const clean = withoutUi(page) as Record<string, unknown>;
    const { properties: props = {}, required: req = [], title: _t, description: _d, type: pageType, ...rest } = clean;
    const pageRequired = new Set(req as string[]);
    for (const [name, prop] of Object.entries(props as Record<string, unknown>)) {
      // A property two pages declare must satisfy both; the first declaration is the one shown.
      if (Object.hasOwn(properties, name)) allOf.push({ properties: { [name]: prop } });
      else properties[name] = prop;
    }
    for (const name of pageRequired) if (!required.includes(name)) required.push(name);
    if (pageType !== undefined && pageType !== 'object') allOf.push({ type: pageType });
    if (Object.keys(rest).length > 0) allOf.push(rest);
    const rawProps = isObject(page.properties) ? page.properties : {};
    for (const [name, raw] of Object.entries(rawProps)) {
      if (table.some((p) => p.name === name)) {
        if (pageRequired.has(name)) table.find((p) => p.name === name)!.required = true;
        continue;
      }
      const p = isObject(raw) ? raw : {};
      table.push({
        name,
        page: i + 1,
        title: typeof p.title === 'string' ? p.title : null,
        description: typeof p.description === 'string' ? p.description : null,
        type: typeof p.type === 'string' ? p.type : Array.isArray(p.type) ? p.type.join('|') : null,
        required: pageRequired.has(name) || required.includes(name),
        ...(p.default !== undefined ? { default: structuredClone(p.default) } : {}),
        ...(Array.isArray(p.enum) ? { enum: structuredClone(p.enum) } : {}),
        ...(typeof p.pattern === 'string' ? { pattern: p.pattern } : {}),
      });
    }
  });
  for (const p of table) if (required.includes(p.name)) p.required = true;
  const schema: Record<string, unknown> = { type: 'object', properties };
  if (required.length > 0) schema.required = required;
  if (allOf.length > 0) schema.allOf = allOf;
  return { schema, pages, table };
}

const ajv = addFormats(
  new Ajv({ allErrors: true, useDefaults: true, strict: false, coerceTypes: false, code: { regExp: linearRegExp } }),
);
const compiled = new WeakMap<Record<string, unknown>, Validators>();
const byText = new Map<string, Validators>();

interface Validators {
  /** Fills the defaults every value gets, whatever the other values (no if/then, oneOf, dependencies). */
  defaults: ValidateFunction;
  validate: ValidateFunction;
}

/** Keywords whose subschemas apply only when some values are given: their defaults wait for the values. */
const CONDITIONAL = new Set(['if', 'then', 'else', 'oneOf', 'anyOf', 'not', 'dependencies', 'dependentSchemas']);

function unconditional(schema: unknown, names = false): unknown {
  if (Array.isArray(schema)) return schema.map((s) => unconditional(s));
  if (!isObject(schema)) return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (names) out[k] = unconditional(v);
    else if (CONDITIONAL.has(k)) continue;
    else out[k] = DATA_KEYS.has(k) ? v : unconditional(v, NAME_MAPS.has(k));
  }
  return out;
}

function compile(schema: Record<string, unknown>): Validators {
  let fns = compiled.get(schema);
  if (fns) return fns;
  const text = JSON.stringify(schema);
  fns = byText.get(text);
  if (!fns) {
    const clean = withoutUi(schema) as Record<string, unknown>;
    try {
      fns = { validate: ajv.compile(clean), defaults: ajv.compile(unconditional(clean) as Record<string, unknown>) };
    } catch (err) {
      throw invalid(
        'spec.parameters',
        `is not a valid JSON Schema: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    if (byText.size >= 200) byText.clear();
    byText.set(text, fns);
  }
  compiled.set(schema, fns);
  return fns;
}

/**
 * The values with defaults applied, or TEMPLATE_PARAMETERS_INVALID whose details.problems list
 * every problem as {path (JSON pointer), message}.
 */
export function validateValues(
  schema: Record<string, unknown>,
  values: Record<string, unknown>,
): Record<string, unknown> {
  const { defaults, validate } = compile(schema);
  const copy = structuredClone(values ?? {});
  // ajv fills defaults as it goes, so an `if` or a dependency could be decided before a default
  // it looks at is there (and a branch's default leak in): the unconditional defaults come first.
  defaults(copy);
  if (validate(copy)) return copy;
  const problems = problemsOf(validate.errors ?? []);
  const summary = problems.map((p) => `${p.path}: ${p.message}`).join('; ');
  throw new IdpError(
    'TEMPLATE_PARAMETERS_INVALID',
    `${problems.length === 1 ? 'one value does' : `${problems.length} values do`} not fit the template's parameters: ${summary}`,
    { problems },
  );
}

/** ajv's errors as one problem per value and message; summaries of oneOf/if/allOf that repeat a branch are dropped. */
export function problemsOf(errors: ErrorObject[]): ParameterProblem[] {
  const out: ParameterProblem[] = [];
  const seen = new Set<string>();
  // A oneOf/anyOf's branches each fail for their own reason; the summary says it once.
  const specific = errors.filter(
    (e) => e.keyword !== 'if' && e.keyword !== 'allOf' && !/\/(oneOf|anyOf)\/\d+\//.test(e.schemaPath),
  );
  for (const e of specific) {
    let path = e.instancePath;
    let message = e.message ?? 'is invalid';
    const params = e.params as Record<string, unknown>;
    switch (e.keyword) {
      case 'required':
      case 'dependencies':
      case 'dependentRequired': {
        path = `${path}/${escapePointer(String(params.missingProperty))}`;
        message = e.keyword === 'required' ? 'is required' : `is required when ${String(params.property)} is given`;
        break;
      }
      case 'enum':
        message = `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`;
        break;
      case 'pattern':
        message = `must match the pattern ${String(params.pattern)}`;
        break;
      case 'oneOf': {
        // Backstage's pattern: dependencies: {field: {oneOf: [...]}}: name the field the choice hangs on.
        const dep = /\/dependencies\/([^/]+)\/oneOf$/.exec(e.schemaPath)?.[1];
        if (dep) path = `${path}/${dep}`;
        const which = params.passingSchemas == null ? 'none' : 'several';
        message = `must match exactly one of the allowed shapes${dep ? ` for ${dep}` : ''} (it matches ${which})`;
        break;
      }
      case 'additionalProperties':
        path = `${path}/${escapePointer(String(params.additionalProperty))}`;
        message = 'is not a parameter of this template';
        break;
      default:
        break;
    }
    const key = `${path}\u0000${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path: path || '/', message });
  }
  return out;
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, '~0').replace(/\//g, '~1');
}

/** The task runner's view of parameters (task-deps.ts), over mergeParameters and validateValues. */
export function parameterSchemas(): ParameterSchemas {
  return {
    validate(pages, values) {
      return validateValues(mergeParameters(pages).schema, values);
    },
    describe(pages) {
      const { schema, table } = mergeParameters(pages);
      return { schema, parameters: table };
    },
  };
}
