import type { CedarUid } from './refs.ts';

interface EntityLike {
  uid: CedarUid;
  attrs: Record<string, unknown>;
  parents: CedarUid[];
}

/**
 * Cedar parses every entity it is handed (~10 µs each in cedar-wasm), so callers that pass their
 * whole directory pay for groups no decision can look at. Evaluation can only reach an entity's
 * data from the principal, the resource, the context and the entities the policies name, and
 * from there through parents and entity-valued attributes; everything else is dropped.
 * An entity with no attributes and no parents, of a type that declares none, means what its
 * absence means, so it is dropped too (typically `Role::"admin"`).
 */
export function relevantEntities<E extends EntityLike>(
  entities: E[],
  roots: { principal: CedarUid; resource: CedarUid; context: unknown; policyLiterals: readonly CedarUid[] },
  attributelessTypes: ReadonlySet<string>,
): E[] {
  if (entities.length === 0) return entities;
  // Keyed by id alone and matched on type after: building "type+id" keys per call cost more
  // than the rest of the walk. Every copy of a uid is kept, so Cedar still rejects conflicting
  // duplicates.
  const byId = new Map<string, E[]>();
  for (const entity of entities) {
    const sameId = byId.get(entity.uid.id);
    if (sameId === undefined) byId.set(entity.uid.id, [entity]);
    else sameId.push(entity);
  }

  const reached = new Set<E>();
  const pending: CedarUid[] = [roots.principal, roots.resource];
  for (const literal of roots.policyLiterals) pending.push(literal);
  collectEntityRefs(roots.context, pending);
  for (let uid = pending.pop(); uid !== undefined; uid = pending.pop()) {
    const sameId = byId.get(uid.id);
    if (sameId === undefined) continue;
    for (const entity of sameId) {
      if (entity.uid.type !== uid.type || reached.has(entity)) continue;
      reached.add(entity);
      for (const parent of entity.parents) pending.push(parent);
      collectEntityRefs(entity.attrs, pending);
    }
  }

  const kept: E[] = [];
  for (const entity of entities) {
    if (!reached.has(entity)) continue;
    if (entity.parents.length === 0 && attributelessTypes.has(entity.uid.type) && isEmptyObject(entity.attrs)) continue;
    kept.push(entity);
  }
  return kept;
}

/**
 * Adds every entity reference inside a Cedar JSON value: `{ type, id }`, `{ __entity: … }`.
 * A record that merely looks like a reference is kept by mistake, which is harmless.
 */
export function collectEntityRefs(value: unknown, out: CedarUid[]): void {
  if (typeof value !== 'object' || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value) collectEntityRefs(item, out);
    return;
  }
  const record = value as Record<string, unknown>;
  if (typeof record['type'] === 'string' && typeof record['id'] === 'string') {
    out.push(record as unknown as CedarUid);
    return;
  }
  for (const key in record) collectEntityRefs(record[key], out);
}

function isEmptyObject(value: Record<string, unknown>): boolean {
  for (const _ in value) return false;
  return true;
}
