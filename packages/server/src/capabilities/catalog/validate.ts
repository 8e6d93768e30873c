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
  if (!isRecord(raw))
    throw new EntityValidationError('the document is not an object (expected apiVersion, kind, metadata, spec)');
  let entity: Entity;
  try {
    entity = ((await policy.enforce(raw as unknown as Entity)) ?? raw) as Entity;
  } catch (err) {
    throw new EntityValidationError(firstLine(err));
  }
  for (const validator of kindValidators) {
    let matched: boolean;
    try {
      matched = await validator.check(entity);
    } catch (err) {
      throw new EntityValidationError(firstLine(err));
    }
    if (matched) return entity;
  }
  throw new EntityValidationError(
    `unsupported kind ${entity.kind} with apiVersion ${entity.apiVersion}; supported kinds: ${SUPPORTED_KINDS.join(', ')} (backstage.io/v1alpha1; Template: scaffolder.backstage.io/v1beta3)`,
  );
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.replace(/\s+/g, ' ').trim();
}
