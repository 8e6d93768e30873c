// Before validation: the shorthand of catalog files written for idp's first design, turned into
// Backstage's own fields, and what is only worth a warning filled in so Backstage's clients accept
// the entity as it is served.
import { isRecord } from '@idp/contracts';
import { EntityValidationError } from './validate.ts';

/** spec.dependencies: [{ component: name }] — the kinds the shorthand may name. */
const DEPENDENCY_KINDS = ['component', 'resource', 'api'] as const;

/** The lifecycle an entity without spec.lifecycle is served with (Backstage's model requires one). */
export const UNKNOWN_LIFECYCLE = 'unknown';

/** Kinds whose Backstage schema requires spec.lifecycle. */
const LIFECYCLE_KINDS = new Set(['Component', 'API']);

export interface Normalized {
  raw: unknown;
  /** Accepted, but worth fixing: listed apart from errors. */
  warnings: string[];
}

/**
 * `spec.dependencies: [{component|resource|api: name}]` becomes `spec.dependsOn` refs (kept
 * after any the entity already lists, without repeats); a Component or API without
 * spec.lifecycle gets `unknown` and a warning. Throws EntityValidationError for a shorthand
 * that is not one of those forms.
 */
export function normalizeEntity(raw: unknown): Normalized {
  const warnings: string[] = [];
  if (!isRecord(raw) || !isRecord(raw.spec) || typeof raw.kind !== 'string') return { raw, warnings };
  let spec = raw.spec;
  if (spec.dependencies !== undefined && (raw.kind === 'Component' || raw.kind === 'Resource')) {
    const { dependencies, ...rest } = spec;
    const refs = dependencyRefs(dependencies);
    const existing = spec.dependsOn === undefined ? [] : [spec.dependsOn].flat();
    const dependsOn = [...existing];
    for (const r of refs) if (!dependsOn.includes(r)) dependsOn.push(r);
    spec = { ...rest, dependsOn };
  }
  if (LIFECYCLE_KINDS.has(raw.kind) && (spec.lifecycle === undefined || spec.lifecycle === null)) {
    warnings.push(
      `spec.lifecycle is missing; the ${raw.kind} is served with lifecycle "${UNKNOWN_LIFECYCLE}" until you set one (production, experimental or deprecated, for example)`,
    );
    spec = { ...spec, lifecycle: UNKNOWN_LIFECYCLE };
  }
  return { raw: spec === raw.spec ? raw : { ...raw, spec }, warnings };
}

function dependencyRefs(value: unknown): string[] {
  const form = `each item must be one of ${DEPENDENCY_KINDS.map((k) => `{ ${k}: <name> }`).join(', ')} or an entity reference such as component:users-api`;
  if (!Array.isArray(value)) throw new EntityValidationError(`spec.dependencies must be a list; ${form}`);
  return value.map((item, i) => {
    if (typeof item === 'string' && item.includes(':')) return item;
    if (isRecord(item)) {
      const keys = Object.keys(item);
      const kind = keys[0] as (typeof DEPENDENCY_KINDS)[number];
      const name = item[kind];
      if (keys.length === 1 && DEPENDENCY_KINDS.includes(kind) && typeof name === 'string' && name.trim())
        return `${kind}:${name.trim()}`;
    }
    throw new EntityValidationError(`spec.dependencies[${i}] is ${JSON.stringify(item)}; ${form}`);
  });
}
