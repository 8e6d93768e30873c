import { parseEntityRef, stringifyEntityRef, type Entity } from '@backstage/catalog-model';
import { EntityValidationError } from './validate.ts';
import { isRecord } from '@idp/contracts';
import { splitRef } from './util.ts';

export interface RelationRow {
  source: string;
  type: string;
  target: string;
}

/** A spec field that names other entities: the default kind for bare names and the relation pair. */
interface RelationField {
  field: string;
  /** undefined: the ref must name its kind (dependsOn / dependencyOf), as in Backstage. */
  defaultKind?: string;
  outgoing: string;
  incoming: string;
}

const owner: RelationField = { field: 'owner', defaultKind: 'Group', outgoing: 'ownedBy', incoming: 'ownerOf' };
const system: RelationField = { field: 'system', defaultKind: 'System', outgoing: 'partOf', incoming: 'hasPart' };
const dependsOn: RelationField = { field: 'dependsOn', outgoing: 'dependsOn', incoming: 'dependencyOf' };
const dependencyOf: RelationField = { field: 'dependencyOf', outgoing: 'dependencyOf', incoming: 'dependsOn' };

/** Backstage's BuiltinKindsEntityProcessor (and the scaffolder's for Template), as a table. */
export const RELATION_FIELDS: Readonly<Record<string, readonly RelationField[]>> = {
  Component: [
    owner,
    { field: 'subcomponentOf', defaultKind: 'Component', outgoing: 'partOf', incoming: 'hasPart' },
    { field: 'providesApis', defaultKind: 'API', outgoing: 'providesApi', incoming: 'apiProvidedBy' },
    { field: 'consumesApis', defaultKind: 'API', outgoing: 'consumesApi', incoming: 'apiConsumedBy' },
    dependsOn,
    dependencyOf,
    system,
  ],
  API: [owner, system],
  Resource: [owner, dependsOn, dependencyOf, system],
  User: [{ field: 'memberOf', defaultKind: 'Group', outgoing: 'memberOf', incoming: 'hasMember' }],
  Group: [
    { field: 'parent', defaultKind: 'Group', outgoing: 'childOf', incoming: 'parentOf' },
    { field: 'children', defaultKind: 'Group', outgoing: 'parentOf', incoming: 'childOf' },
    { field: 'members', defaultKind: 'User', outgoing: 'hasMember', incoming: 'memberOf' },
  ],
  System: [owner, { field: 'domain', defaultKind: 'Domain', outgoing: 'partOf', incoming: 'hasPart' }],
  Domain: [owner, { field: 'subdomainOf', defaultKind: 'Domain', outgoing: 'partOf', incoming: 'hasPart' }],
  Template: [owner],
};

/**
 * The relations an entity's spec declares, in both directions. The namespace defaults to the
 * entity's own. A target that does not exist still yields the relation, as in Backstage.
 * Throws EntityValidationError for a ref that cannot be parsed (e.g. dependsOn without a kind).
 */
export function relationsOf(entity: Entity): RelationRow[] {
  const fields = RELATION_FIELDS[entity.kind];
  if (!fields || !isRecord(entity.spec)) return [];
  const self = stringifyEntityRef(entity);
  const namespace = entity.metadata.namespace ?? 'default';
  const rows: RelationRow[] = [];
  for (const f of fields) {
    const value = entity.spec[f.field];
    if (value === undefined || value === null || value === '') continue;
    for (const item of [value].flat()) {
      if (typeof item !== 'string')
        throw new EntityValidationError(
          `spec.${f.field} must hold entity references (strings), got ${JSON.stringify(item)}`,
        );
      let target: string;
      try {
        target = stringifyEntityRef(parseEntityRef(item, { defaultKind: f.defaultKind, defaultNamespace: namespace }));
      } catch (err) {
        throw new EntityValidationError(`spec.${f.field}: ${(err as Error).message}`);
      }
      rows.push({ source: self, type: f.outgoing, target });
      rows.push({ source: target, type: f.incoming, target: self });
    }
  }
  return rows;
}

export interface EntityRelationJson {
  type: string;
  targetRef: string;
  target: { kind: string; namespace: string; name: string };
}

/** Deduplicated and sorted by type then target, the order Backstage's stitcher writes them in. */
export function toEntityRelations(rows: Iterable<{ type: string; target: string }>): EntityRelationJson[] {
  const seen = new Set<string>();
  const out: EntityRelationJson[] = [];
  for (const r of rows) {
    const key = `${r.type}\u0000${r.target}`;
    if (seen.has(key)) continue;
    seen.add(key);
    // The legacy `target` object is what clients before targetRef read; Backstage serves it in
    // its relations compatibility mode, and it costs little.
    out.push({ type: r.type, targetRef: r.target, target: splitRef(r.target) });
  }
  out.sort((a, b) =>
    a.type < b.type ? -1 : a.type > b.type ? 1 : a.targetRef < b.targetRef ? -1 : a.targetRef > b.targetRef ? 1 : 0,
  );
  return out;
}
