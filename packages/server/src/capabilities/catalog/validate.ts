import {
  DefaultNamespaceEntityPolicy,
  EntityPolicies,
  FieldFormatEntityPolicy,
  NoForeignRootFieldsEntityPolicy,
  SchemaValidEntityPolicy,
  apiEntityV1alpha1Validator,
  componentEntityV1alpha1Validator,
  domainEntityV1alpha1Validator,
  groupEntityV1alpha1Validator,
  locationEntityV1alpha1Validator,
  resourceEntityV1alpha1Validator,
  systemEntityV1alpha1Validator,
  userEntityV1alpha1Validator,
  type Entity,
  type KindValidator,
} from '@backstage/catalog-model';
import { isRecord } from '@idp/contracts';

/** The kinds idp stores; everything else is reported as unsupported, as Backstage does. */
export const SUPPORTED_KINDS = [
  'Component',
  'API',
  'Resource',
  'System',
  'Domain',
  'Group',
  'User',
  'Location',
  'Template',
] as const;

const policy = EntityPolicies.allOf([
  new DefaultNamespaceEntityPolicy(),
  new NoForeignRootFieldsEntityPolicy(),
  new FieldFormatEntityPolicy(),
  new SchemaValidEntityPolicy(),
]);

/**
 * catalog-model ships no Template validator (it lives in the scaffolder plugin), so this checks
 * the parts of scaffolder.backstage.io/v1beta3 that idp reads or that would break a portal.
 */
const templateV1beta3Validator: KindValidator = {
  async check(entity: Entity) {
    if (entity.apiVersion !== 'scaffolder.backstage.io/v1beta3' || entity.kind !== 'Template') return false;
    const spec = entity.spec;
    if (!isRecord(spec)) throw new TypeError('spec must be an object');
    if (typeof spec.type !== 'string' || !spec.type) throw new TypeError('spec.type must be a non-empty string');
    if (spec.owner !== undefined && (typeof spec.owner !== 'string' || !spec.owner))
      throw new TypeError('spec.owner must be a non-empty string');
    if (!Array.isArray(spec.steps)) throw new TypeError('spec.steps must be an array');
    for (const [i, step] of spec.steps.entries()) {
      if (!isRecord(step) || typeof step.action !== 'string')
        throw new TypeError(`spec.steps[${i}].action must be a string`);
    }
    if (spec.parameters !== undefined && !isRecord(spec.parameters) && !Array.isArray(spec.parameters)) {
      throw new TypeError('spec.parameters must be an object or an array');
    }
    if (spec.output !== undefined && !isRecord(spec.output)) throw new TypeError('spec.output must be an object');
    return true;
  },
};

const kindValidators: KindValidator[] = [
  apiEntityV1alpha1Validator,
  componentEntityV1alpha1Validator,
  resourceEntityV1alpha1Validator,
  groupEntityV1alpha1Validator,
  locationEntityV1alpha1Validator,
  userEntityV1alpha1Validator,
  systemEntityV1alpha1Validator,
  domainEntityV1alpha1Validator,
  templateV1beta3Validator,
];

export class EntityValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InputError';
  }
}

/**
 * Runs Backstage's default entity policies, then the kind validators. Returns the entity as
 * the policies leave it (namespace defaulted); throws EntityValidationError with the reason.
 */
export async function validateEntity(raw: unknown): Promise<Entity> {
  checkShape(raw);
  let entity: Entity;
  try {
    entity = ((await policy.enforce(raw as unknown as Entity)) ?? raw) as Entity;
  } catch (err) {
    throw new EntityValidationError(inUserTerms(err));
  }
  for (const validator of kindValidators) {
    let matched: boolean;
    try {
      matched = await validator.check(entity);
    } catch (err) {
      throw new EntityValidationError(inUserTerms(err, entity.kind));
    }
    if (matched) return entity;
  }
  throw new EntityValidationError(
    `unsupported kind ${entity.kind} with apiVersion ${entity.apiVersion}; supported kinds: ${SUPPORTED_KINDS.join(', ')} (backstage.io/v1alpha1; Template: scaffolder.backstage.io/v1beta3)`,
  );
}

/** The fields every entity needs, checked first so a missing one is named as such. */
function checkShape(raw: unknown): asserts raw is Record<string, unknown> {
  const example = 'apiVersion: backstage.io/v1alpha1, kind: Component, metadata: { name: … }, spec: { … }';
  if (!isRecord(raw))
    throw new EntityValidationError(
      `the document is ${Array.isArray(raw) ? 'a list' : raw === null ? 'empty' : `the ${typeof raw} ${JSON.stringify(raw)}`}, not an entity (expected ${example})`,
    );
  for (const field of ['apiVersion', 'kind'] as const) {
    if (raw[field] === undefined) throw new EntityValidationError(`${field} is missing (expected ${example})`);
    if (typeof raw[field] !== 'string' || !raw[field])
      throw new EntityValidationError(`${field} must be a non-empty string, got ${JSON.stringify(raw[field])}`);
  }
  if (raw.metadata === undefined)
    throw new EntityValidationError(`metadata is missing; every entity needs metadata with at least a name`);
  if (!isRecord(raw.metadata))
    throw new EntityValidationError(
      `metadata must be a mapping with at least a name, got ${JSON.stringify(raw.metadata)}`,
    );
  if (raw.metadata.name === undefined) throw new EntityValidationError('metadata.name is missing');
  if (typeof raw.metadata.name !== 'string')
    throw new EntityValidationError(`metadata.name must be a string, got ${JSON.stringify(raw.metadata.name)}`);
  if (raw.spec !== undefined && !isRecord(raw.spec))
    throw new EntityValidationError(`spec must be a mapping, got ${JSON.stringify(raw.spec)}`);
}

/**
 * Backstage's messages in the terms of the file: `/spec/type must be string - type: string` →
 * `spec.type must be string`; the pointer to Backstage's documentation is left out.
 */
export function inUserTerms(err: unknown, kind?: string): string {
  let text = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
  text = text.replace(/\s*To learn more about catalog file format, visit: \S+/, '');
  const missing = /^(\/[^ ]*)? ?must have required property '([^']+)'/.exec(text);
  if (missing) return `${pointer(missing[1] ?? '')}${missing[2]} is missing${kind ? ` (a ${kind} needs it)` : ''}`;
  const schema = /^(\/[^ ]*) (must .*?)(?: - .*)?$/.exec(text);
  if (schema) return `${pointer(schema[1]!).slice(0, -1)} ${schema[2]}`;
  const unknown = /^Unknown field (\S+)/.exec(text);
  if (unknown)
    return `${unknown[1]} is not an entity field (the top level holds apiVersion, kind, metadata, spec, relations and status)`;
  return text
    .replace(/^"(labels|annotations)\.([^"]*)" is not valid/, 'metadata.$1 key "$2" is not valid')
    .replace(/^"tags\.(\d+)" is not valid/, 'metadata.tags[$1] is not valid')
    .replace(/^"([\w.]+)" is not valid/, '$1 is not valid');
}

function pointer(path: string): string {
  const parts = path.split('/').filter(Boolean);
  return parts.length
    ? `${parts
        .map((p) => (/^\d+$/.test(p) ? `[${p}]` : p))
        .join('.')
        .replace(/\.\[/g, '[')}.`
    : '';
}
