// Checking one entity as read (its placeholders already resolved): the shorthand turned into Backstage's
// fields, the location annotations added, Backstage's validation, its relations and its content hash.
// Pure computation: the ingest worker runs it as well as the main thread.
import { stringifyEntityRef, type Entity } from '@backstage/catalog-model';
import { canonicalJson } from '@idp/core';
import { isRecord } from '@idp/contracts';
import { normalizeEntity } from './normalize.ts';
import { relationsOf, type RelationRow } from './relations.ts';
import { checkedLeaves } from './search.ts';
import { sha1 } from './util.ts';
import { validateEntity } from './validate.ts';

export const ANNOTATION_LOCATION = 'backstage.io/managed-by-location';
export const ANNOTATION_ORIGIN_LOCATION = 'backstage.io/managed-by-origin-location';

export interface CheckedEntity {
  ref: string;
  /** Lower case. */
  kind: string;
  entity: Entity;
  contentHash: string;
  relations: RelationRow[];
  /** Accepted but worth fixing. */
  warnings: string[];
}

/**
 * The entity `raw` (from the file `fileRef` of the location `origin`) as stored; throws
 * EntityValidationError (or anything else, for what could not be checked) when it is invalid.
 */
export async function checkResolved(raw: unknown, fileRef: string, origin: string): Promise<CheckedEntity> {
  let warnings: string[];
  ({ raw, warnings } = normalizeEntity(raw));
  if (isRecord(raw) && isRecord(raw.metadata)) {
    const annotations = isRecord(raw.metadata.annotations) ? raw.metadata.annotations : {};
    raw = {
      ...raw,
      metadata: {
        ...raw.metadata,
        annotations: { ...annotations, [ANNOTATION_LOCATION]: fileRef, [ANNOTATION_ORIGIN_LOCATION]: origin },
      },
    };
  }
  const entity = await validateEntity(raw);
  const relations = relationsOf(entity);
  checkedLeaves(entity);
  return {
    ref: stringifyEntityRef(entity),
    kind: entity.kind.toLowerCase(),
    entity,
    contentHash: sha1(canonicalJson(entity)),
    relations,
    warnings,
  };
}

/** The ref an entity that failed its checks would have had, to keep its previous version. */
export function guessRef(raw: unknown): string | undefined {
  if (
    !isRecord(raw) ||
    typeof raw.kind !== 'string' ||
    !isRecord(raw.metadata) ||
    typeof raw.metadata.name !== 'string'
  )
    return undefined;
  const ns = typeof raw.metadata.namespace === 'string' && raw.metadata.namespace ? raw.metadata.namespace : 'default';
  try {
    return stringifyEntityRef({ kind: raw.kind, namespace: ns, name: raw.metadata.name });
  } catch {
    return undefined;
  }
}
