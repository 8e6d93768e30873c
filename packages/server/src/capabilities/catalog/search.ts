import type { Entity } from '@backstage/catalog-model';
import { EntityValidationError } from './validate.ts';
import { isRecord } from '@idp/contracts';

export interface SearchRow {
  key: string;
  value: string | null;
  original: string | null;
}

/** Indexed separately (name, namespace, uid) or not at all (the rest), as in Backstage. */
const NOT_TRAVERSED = new Set([
  'attachments',
  'relations',
  'status',
  'metadata.name',
  'metadata.namespace',
  'metadata.uid',
  'metadata.etag',
]);
const MAX_KEY_LENGTH = 200;
const MAX_VALUE_LENGTH = 200;

type Leaf = { key: string; value: unknown };

function traverse(root: unknown): Leaf[] {
  const out: Leaf[] = [];
  const arrayItemKeys = new Set<string>();
  const visit = (path: string, current: unknown): void => {
    if (NOT_TRAVERSED.has(path)) return;
    if (
      current === undefined ||
      current === null ||
      typeof current === 'string' ||
      typeof current === 'number' ||
      typeof current === 'boolean'
    ) {
      out.push({ key: path, value: current });
      return;
    }
    if (typeof current !== 'object') return;
    if (Array.isArray(current)) {
      for (const item of current) {
        visit(path, item);
        // String items are also indexed as `path.<item>` = true, so `metadata.tags.java` matches.
        if (typeof item === 'string') {
          const key = `${path}.${item}`;
          const lower = key.toLowerCase();
          if (!arrayItemKeys.has(lower)) {
            arrayItemKeys.add(lower);
            out.push({ key, value: true });
          }
        }
      }
      return;
    }
    for (const [k, v] of Object.entries(current)) visit(path ? `${path}.${k}` : k, v);
  };
  visit('', root);
  return out;
}

/**
 * What an entity's search rows are made of; throws when two keys differ only in case, which
 * would make filters ambiguous. Ingestion calls it alone to reject such an entity early.
 */
export function checkedLeaves(entity: Entity): Leaf[] {
  const leaves = traverse(entity);
  leaves.push({ key: 'metadata.name', value: entity.metadata.name });
  leaves.push({ key: 'metadata.namespace', value: entity.metadata.namespace ?? 'default' });
  leaves.push({ key: 'metadata.uid', value: entity.metadata.uid });
  for (const r of entity.relations ?? []) leaves.push({ key: `relations.${r.type}`, value: r.targetRef });
  const caseOf = new Map<string, string>();
  for (const { key } of leaves) {
    const lower = key.toLowerCase();
    const seen = caseOf.get(lower);
    if (seen === undefined) caseOf.set(lower, key);
    else if (seen !== key)
      throw new EntityValidationError(`entity has keys that differ only in case: '${seen}' and '${key}'`);
  }
  return leaves;
}

/**
 * Backstage's search index for one entity: every leaf under its dotted path, keys and values
 * lower-cased (the original value kept for facets), relations as `relations.<type>` = targetRef.
 * Throws when two keys differ only in case, which would make filters ambiguous.
 */
export function buildSearchRows(entity: Entity): SearchRow[] {
  const leaves = checkedLeaves(entity);
  const rows: SearchRow[] = [];
  const seen = new Set<string>();
  for (const leaf of leaves) {
    const key = leaf.key.toLowerCase();
    if (key.length > MAX_KEY_LENGTH) continue;
    let value: string | null = null;
    let original: string | null = null;
    if (leaf.value !== undefined && leaf.value !== null) {
      const text = String(leaf.value);
      // Long values stay findable by key (exists) only, like Backstage.
      if (text.length <= MAX_VALUE_LENGTH) {
        original = text;
        value = text.toLowerCase();
      }
    }
    const dedupe = `${key}\u0000${value ?? ''}`;
    if (seen.has(dedupe)) continue;
    seen.add(dedupe);
    rows.push({ key, value, original });
  }
  return rows;
}

/** Splits Backstage `fields` parameters (repeatable, comma lists) into paths. */
export function parseFieldsParam(param: unknown): string[] | undefined {
  if (param === undefined) return undefined;
  const fields = [param]
    .flat()
    .flatMap((p) => String(p).split(','))
    .map((s) => s.trim())
    .filter(Boolean);
  return fields.length ? fields : undefined;
}

/**
 * Keeps only the given dotted paths (whole subtrees). Keys that contain dots, such as
 * `metadata.annotations.backstage.io/orphan`, resolve by joining path parts until a key matches.
 */
export function projectFields(entity: unknown, fields: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const field of fields) {
    const parts = field.split('.');
    const path: string[] = [];
    let current: unknown = entity;
    let pending = '';
    let ok = true;
    for (let i = 0; i < parts.length; i++) {
      const part = pending ? `${pending}.${parts[i]}` : parts[i]!;
      if (isRecord(current) && Object.hasOwn(current, part)) {
        path.push(part);
        current = current[part];
        pending = '';
      } else if (i + 1 < parts.length) {
        pending = part;
      } else {
        ok = false;
      }
    }
    if (!ok || pending || current === undefined || path.length === 0) continue;
    let target = out;
    for (let i = 0; i < path.length - 1; i++) {
      const next = target[path[i]!];
      target = (isRecord(next) ? next : (target[path[i]!] = {})) as Record<string, unknown>;
    }
    target[path[path.length - 1]!] = current;
  }
  return out;
}
