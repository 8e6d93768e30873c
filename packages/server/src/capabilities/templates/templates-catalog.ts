// Template entities as the task runner reads them from the catalog: by name, with the location
// they were read from (backstage.io/managed-by-location), so relative URLs resolve against it.
import type { Kysely } from 'kysely';
import { IdpError, type TemplateSummary } from '@idp/contracts';
import type { Database } from '../../store/index.ts';
import type { TemplateLocation } from './types.ts';

export const LOCATION_ANNOTATION = 'backstage.io/managed-by-location';

export interface TemplateStep {
  id: string;
  name: string | null;
  action: string;
  input: Record<string, unknown>;
  if?: unknown;
  each?: unknown;
}

/** What a task needs of a Template entity. */
export interface RunnableTemplate {
  ref: string;
  name: string;
  title: string;
  description: string | null;
  owner: string | null;
  type: string | null;
  tags: string[];
  location: TemplateLocation;
  /** spec.parameters as pages (one JSON Schema object each). */
  pages: Record<string, unknown>[];
  steps: TemplateStep[];
  output: { links?: unknown; text?: unknown } | null;
}

interface EntityShape {
  kind?: string;
  metadata?: {
    name?: string;
    namespace?: string;
    title?: string;
    description?: string;
    tags?: unknown;
    annotations?: Record<string, string>;
  };
  spec?: Record<string, unknown>;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function invalid(ref: string, field: string, why: string): IdpError {
  return new IdpError('TEMPLATE_INVALID', `${ref}: field ${field} ${why}`, { template: ref, field });
}

/** A Template entity (JSON as the catalog stores it) read into what the runner uses; errors name the field. */
export function readTemplate(entityJson: string | Record<string, unknown>): RunnableTemplate {
  const e = (typeof entityJson === 'string' ? JSON.parse(entityJson) : entityJson) as EntityShape;
  const name = e.metadata?.name ?? '';
  const ref = `template:${(e.metadata?.namespace ?? 'default').toLowerCase()}/${name.toLowerCase()}`;
  const spec = e.spec ?? {};
  const rawSteps = spec.steps ?? [];
  if (!Array.isArray(rawSteps)) throw invalid(ref, 'spec.steps', 'must be a list');
  const seen = new Set<string>();
  const steps = rawSteps.map((s, i): TemplateStep => {
    if (!isObject(s)) throw invalid(ref, `spec.steps[${i}]`, 'must be an object');
    const id = typeof s.id === 'string' && s.id ? s.id : `step-${i + 1}`;
    if (seen.has(id)) throw invalid(ref, `spec.steps[${i}].id`, `repeats the id ${id}`);
    seen.add(id);
    if (typeof s.action !== 'string' || !s.action) throw invalid(ref, `spec.steps[${i}].action`, 'is required');
    if (s.input !== undefined && !isObject(s.input)) throw invalid(ref, `spec.steps[${i}].input`, 'must be an object');
    return {
      id,
      name: typeof s.name === 'string' ? s.name : null,
      action: s.action,
      input: (s.input as Record<string, unknown> | undefined) ?? {},
      ...(s.if !== undefined ? { if: s.if } : {}),
      ...(s.each !== undefined ? { each: s.each } : {}),
    };
  });
  const params = spec.parameters;
  const pages = params === undefined ? [] : Array.isArray(params) ? params : [params];
  pages.forEach((p, i) => {
    if (!isObject(p)) throw invalid(ref, `spec.parameters[${i}]`, 'must be a JSON Schema object');
  });
  const output = spec.output;
  if (output !== undefined && output !== null && !isObject(output))
    throw invalid(ref, 'spec.output', 'must be an object');
  const tags = Array.isArray(e.metadata?.tags) ? e.metadata.tags.filter((t): t is string => typeof t === 'string') : [];
  return {
    ref,
    name,
    title: e.metadata?.title ?? name,
    description: e.metadata?.description ?? null,
    owner: typeof spec.owner === 'string' ? ownerRef(spec.owner) : null,
    type: typeof spec.type === 'string' ? spec.type : null,
    tags,
    location: locationOf(e.metadata?.annotations?.[LOCATION_ANNOTATION]),
    pages: pages as Record<string, unknown>[],
    steps,
    output: isObject(output) ? output : null,
  };
}

function ownerRef(owner: string): string {
  if (owner.includes(':')) return owner.toLowerCase();
  return `group:${owner.includes('/') ? owner : `default/${owner}`}`.toLowerCase();
}

/** `file:/abs/template.yaml` or `url:https://…`; anything else cannot resolve relative URLs. */
export function locationOf(annotation: string | undefined): TemplateLocation {
  if (annotation?.startsWith('file:')) return { type: 'file', target: annotation.slice('file:'.length) };
  if (annotation?.startsWith('url:')) return { type: 'url', target: annotation.slice('url:'.length) };
  return { type: 'url', target: annotation ?? '' };
}

export function summaryOf(t: RunnableTemplate): TemplateSummary {
  return {
    ref: t.ref,
    name: t.name,
    title: t.title,
    description: t.description,
    owner: t.owner,
    type: t.type,
    tags: t.tags,
  };
}

/** Reads Template entities straight from the catalog's table (the catalog is readable by every user). */
export class TemplateCatalog {
  constructor(private readonly db: Kysely<Database>) {}

  async list(): Promise<RunnableTemplate[]> {
    const rows = await this.db
      .selectFrom('catalog_entities')
      .select(['entity'])
      .where('kind', '=', 'template')
      .orderBy('ref')
      .execute();
    const out: RunnableTemplate[] = [];
    for (const r of rows) {
      try {
        out.push(readTemplate(r.entity));
      } catch {
        // A template that cannot be read is listed by the catalog's errors, not here.
      }
    }
    return out;
  }

  /** By name (`node-service`), `namespace/name` or a full ref; TEMPLATE_NOT_FOUND otherwise. */
  async get(nameOrRef: string): Promise<RunnableTemplate> {
    const text = nameOrRef
      .trim()
      .toLowerCase()
      .replace(/^template:/, '');
    const ref = `template:${text.includes('/') ? text : `default/${text}`}`;
    const row = await this.db.selectFrom('catalog_entities').select('entity').where('ref', '=', ref).executeTakeFirst();
    if (!row)
      throw new IdpError('TEMPLATE_NOT_FOUND', `no template ${nameOrRef} in the catalog`, { template: nameOrRef });
    return readTemplate(row.entity);
  }

  /** The catalog's User entity of a user (for user.entity in templates), when there is one. */
  async userEntity(userRef: string): Promise<unknown> {
    const row = await this.db
      .selectFrom('catalog_entities')
      .select('entity')
      .where('ref', '=', userRef.toLowerCase())
      .executeTakeFirst();
    return row ? JSON.parse(row.entity) : undefined;
  }
}
