// Template entities as the task runner reads them from the catalog: by name, with the location
// they were read from (backstage.io/managed-by-location), so relative URLs resolve against it.
import type { Kysely } from 'kysely';
import { IdpError, type TemplateSummary } from '@idp/contracts';
import type { Database } from '../../store/index.ts';
import { parameterPages } from './parameters.ts';
import { templateModel, templateSummary, type TemplateModel, type TemplateStepModel } from './template-model.ts';
import type { TemplateLocation } from './types.ts';

export type TemplateStep = TemplateStepModel;

/** What a task needs of a Template entity: the model, with its parameter pages and a location. */
export interface RunnableTemplate extends Omit<TemplateModel, 'location'> {
  location: TemplateLocation;
  /** spec.parameters as pages (one JSON Schema object each). */
  pages: Record<string, unknown>[];
}

/** A Template entity (JSON as the catalog stores it) read for running; TEMPLATE_INVALID names the field. */
export function readTemplate(entity: string | Record<string, unknown>): RunnableTemplate {
  const model = templateModel(entity);
  return {
    ...model,
    // Without a location idp can read, relative URLs (fetch:template's ./skeleton) do not resolve.
    location: model.location ?? { type: 'url', target: '' },
    pages: parameterPages(model.parameters),
  };
}

export const summaryOf = (t: RunnableTemplate): TemplateSummary => templateSummary(t);

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
