// A Template entity (scaffolder.backstage.io/v1beta3, as Backstage writes it) read into the typed
// model the task runner and the API use. Anything the runner could not use is TEMPLATE_INVALID
// naming the field (`spec.steps[2].action`), so the author knows what to fix.
import { IdpError, type TemplateSummary } from '@idp/contracts';
import { parameterPages } from './parameters.ts';
import type { TemplateLocation } from './types.ts';

export const TEMPLATE_API_VERSION = 'scaffolder.backstage.io/v1beta3';
export const LOCATION_ANNOTATION = 'backstage.io/managed-by-location';
export const ORIGIN_ANNOTATION = 'backstage.io/managed-by-origin-location';
export const MAX_STEPS = 100;

export interface TemplateStepModel {
  id: string;
  name: string | null;
  action: string;
  input: Record<string, unknown>;
  /** A `${{ }}` expression or a boolean; undefined: always run. */
  if?: string | boolean;
  /** A `${{ }}` expression giving a list or an object, or a literal list/object; the step runs once per item. */
  each?: string | unknown[] | Record<string, unknown>;
}

export interface TemplateOutputModel {
  links: { title?: string; url?: string; entityRef?: string; icon?: string }[];
  text: { title?: string; content: string }[];
}

export interface TemplateModel {
  ref: string;
  name: string;
  title: string;
  description: string | null;
  /** spec.owner as an entity ref (a bare name is a group: group:default/<name>). */
  owner: string | null;
  type: string | null;
  tags: string[];
  /** From the backstage.io/managed-by-location annotation; null when it has none that idp can read. */
  location: TemplateLocation | null;
  /** spec.parameters as written (one object, a list of pages, or undefined). */
  parameters: unknown;
  steps: TemplateStepModel[];
  output: TemplateOutputModel | null;
}

const STEP_ID = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,99}$/;
const ACTION_ID = /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,99}$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a Template entity (an object, or its JSON text as the catalog stores it). */
export function templateModel(entity: unknown): TemplateModel {
  let e: unknown = entity;
  if (typeof entity === 'string') {
    try {
      e = JSON.parse(entity);
    } catch {
      throw new IdpError('TEMPLATE_INVALID', 'the template entity is not JSON', { field: '(entity)' });
    }
  }
  if (!isObject(e))
    throw new IdpError('TEMPLATE_INVALID', 'the template entity is not an object', { field: '(entity)' });
  const metadata = isObject(e.metadata) ? e.metadata : {};
  const rawName = metadata.name;
  const namespace = typeof metadata.namespace === 'string' && metadata.namespace ? metadata.namespace : 'default';
  const ref = `template:${namespace}/${typeof rawName === 'string' ? rawName : '?'}`.toLowerCase();
  const fail = (field: string, why: string): IdpError =>
    new IdpError('TEMPLATE_INVALID', `${ref}: ${field} ${why}`, { template: ref, field });

  if (typeof rawName !== 'string' || rawName === '') throw fail('metadata.name', 'is required');
  if (e.kind !== 'Template') throw fail('kind', `must be Template (got ${JSON.stringify(e.kind)})`);
  if (e.apiVersion !== TEMPLATE_API_VERSION) {
    throw fail('apiVersion', `must be ${TEMPLATE_API_VERSION} (got ${JSON.stringify(e.apiVersion)})`);
  }
  const spec = e.spec;
  if (!isObject(spec)) throw fail('spec', 'is required (an object with owner, type, parameters and steps)');

  const optionalString = (value: unknown, field: string): string | null => {
    if (value === undefined || value === null) return null;
    if (typeof value !== 'string') throw fail(field, 'must be a string');
    return value;
  };
  const title = optionalString(metadata.title, 'metadata.title') ?? rawName;
  const description = optionalString(metadata.description, 'metadata.description');
  const owner = optionalString(spec.owner, 'spec.owner');
  const type = optionalString(spec.type, 'spec.type');
  if (
    metadata.tags !== undefined &&
    !(Array.isArray(metadata.tags) && metadata.tags.every((t) => typeof t === 'string'))
  ) {
    throw fail('metadata.tags', 'must be a list of strings');
  }
  const annotations = isObject(metadata.annotations) ? metadata.annotations : {};

  try {
    parameterPages(spec.parameters);
  } catch (err) {
    if (err instanceof IdpError && err.code === 'TEMPLATE_INVALID')
      throw fail(String(err.details.field), err.message.replace(/^\S+ /, ''));
    throw err;
  }

  return {
    ref,
    name: rawName,
    title,
    description,
    owner: owner === null ? null : ownerRef(owner),
    type,
    tags: (metadata.tags as string[] | undefined) ?? [],
    location: locationOf(annotations[LOCATION_ANNOTATION], annotations[ORIGIN_ANNOTATION]),
    parameters: spec.parameters,
    steps: readSteps(spec.steps, fail),
    output: readOutput(spec.output, fail),
  };
}

function readSteps(raw: unknown, fail: (field: string, why: string) => IdpError): TemplateStepModel[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw fail('spec.steps', 'must be a list of steps');
  if (raw.length > MAX_STEPS) throw fail('spec.steps', `has ${raw.length} steps, more than the ${MAX_STEPS} allowed`);
  const seen = new Set<string>();
  return raw.map((s: unknown, i): TemplateStepModel => {
    const at = `spec.steps[${i}]`;
    if (!isObject(s)) throw fail(at, 'must be an object with id, action and input');
    if (s.id === undefined || s.id === '') throw fail(`${at}.id`, 'is required (other steps read its output by it)');
    if (typeof s.id !== 'string' || !STEP_ID.test(s.id)) {
      throw fail(`${at}.id`, 'must be letters, digits, _ . or - (at most 100)');
    }
    if (seen.has(s.id)) throw fail(`${at}.id`, `repeats the id ${s.id} of an earlier step`);
    seen.add(s.id);
    if (s.action === undefined || s.action === '') throw fail(`${at}.action`, 'is required (e.g. fetch:template)');
    if (typeof s.action !== 'string' || !ACTION_ID.test(s.action)) {
      throw fail(`${at}.action`, 'must be an action id such as fetch:template or publish:git');
    }
    if (s.name !== undefined && typeof s.name !== 'string') throw fail(`${at}.name`, 'must be a string');
    if (s.input !== undefined && s.input !== null && !isObject(s.input)) throw fail(`${at}.input`, 'must be an object');
    if (s.if !== undefined && typeof s.if !== 'string' && typeof s.if !== 'boolean') {
      throw fail(`${at}.if`, 'must be a ${{ }} expression or a boolean');
    }
    if (s.each !== undefined && typeof s.each !== 'string' && !Array.isArray(s.each) && !isObject(s.each)) {
      throw fail(`${at}.each`, 'must be a ${{ }} expression, a list or an object');
    }
    if (typeof s.each === 'string' && !s.each.includes('${{')) {
      throw fail(`${at}.each`, 'must be a ${{ }} expression giving a list or an object');
    }
    return {
      id: s.id,
      name: typeof s.name === 'string' ? s.name : null,
      action: s.action,
      input: isObject(s.input) ? s.input : {},
      ...(s.if !== undefined ? { if: s.if as string | boolean } : {}),
      ...(s.each !== undefined ? { each: s.each as TemplateStepModel['each'] } : {}),
    };
  });
}

function readOutput(raw: unknown, fail: (field: string, why: string) => IdpError): TemplateOutputModel | null {
  if (raw === undefined || raw === null) return null;
  if (!isObject(raw)) throw fail('spec.output', 'must be an object with links and text');
  const list = (value: unknown, field: string): Record<string, unknown>[] => {
    if (value === undefined || value === null) return [];
    if (!Array.isArray(value)) throw fail(field, 'must be a list');
    return value.map((item: unknown, i) => {
      if (!isObject(item)) throw fail(`${field}[${i}]`, 'must be an object');
      for (const [k, v] of Object.entries(item)) {
        if (v !== undefined && typeof v !== 'string') throw fail(`${field}[${i}].${k}`, 'must be a string');
      }
      return item;
    });
  };
  const links = list(raw.links, 'spec.output.links');
  links.forEach((l, i) => {
    if (l.url === undefined && l.entityRef === undefined)
      throw fail(`spec.output.links[${i}]`, 'needs a url or an entityRef');
  });
  const text = list(raw.text, 'spec.output.text');
  text.forEach((t, i) => {
    if (t.content === undefined) throw fail(`spec.output.text[${i}].content`, 'is required');
  });
  return {
    links: links as TemplateOutputModel['links'],
    text: text as TemplateOutputModel['text'],
  };
}

/** spec.owner as an entity ref: `team-a` → group:default/team-a, `user:alice` → user:default/alice. */
export function ownerRef(owner: string): string {
  const colon = owner.indexOf(':');
  const kind = colon > 0 ? owner.slice(0, colon) : 'group';
  const rest = colon > 0 ? owner.slice(colon + 1) : owner;
  const ref = rest.includes('/') ? rest : `default/${rest}`;
  return `${kind}:${ref}`.toLowerCase();
}

/**
 * The annotation's `file:/abs/template.yaml`, `url:https://…` or `git:<repo>#<branch>?path=<file>`
 * (with the origin location, whose rules a git checkout obeys); null for anything else.
 */
export function locationOf(annotation: unknown, origin?: unknown): TemplateLocation | null {
  if (typeof annotation !== 'string') return null;
  if (annotation.startsWith('git:')) {
    const at = annotation.lastIndexOf('?path=');
    const target = at > 4 ? annotation.slice(4, at) : '';
    const path = at > 4 ? annotation.slice(at + '?path='.length) : '';
    if (!target || !path || typeof origin !== 'string' || !origin.includes(':')) return null;
    return { type: 'git', target, path, origin };
  }
  if (annotation.startsWith('file:') && annotation.length > 5) return { type: 'file', target: annotation.slice(5) };
  if (annotation.startsWith('url:') && annotation.length > 4) return { type: 'url', target: annotation.slice(4) };
  return null;
}

export function templateSummary(model: TemplateModel): TemplateSummary {
  return {
    ref: model.ref,
    name: model.name,
    title: model.title,
    description: model.description,
    owner: model.owner,
    type: model.type,
    tags: model.tags,
  };
}
