import { IdpError } from '@idp/contracts';

export interface CedarUid {
  type: string;
  id: string;
}

/** The entity types a user may name in a `kind:name` reference, keyed by the lower-case kind. */
const ENTITY_TYPES_BY_KIND: Readonly<Record<string, string>> = {
  user: 'User',
  group: 'Group',
  role: 'Role',
  platform: 'Platform',
  token: 'Token',
  environment: 'Environment',
  service: 'Service',
  secret: 'Secret',
  namespace: 'Namespace',
  template: 'Template',
  task: 'Task',
};

const KINDS = Object.keys(ENTITY_TYPES_BY_KIND);
const REF_HINT = `Use the form kind:name with kind one of ${KINDS.join(', ')}, e.g. environment:staging or user:alice@company.com.`;

// Decisions print uids as `Environment::"staging"`, so people paste that form back into
// `idp policy:check`; accepting it saves them a round of rewriting.
const CEDAR_UID = /^([A-Za-z]+)::"((?:[^"\\]|\\.)*)"$/;

/** Parses `environment:staging` (or `Environment::"staging"`) into a Cedar entity uid. */
export function parseResourceRef(ref: string): CedarUid {
  const trimmed = ref.trim();
  const cedarForm = CEDAR_UID.exec(trimmed);
  let kind: string;
  let id: string;
  if (cedarForm) {
    kind = cedarForm[1]!;
    id = unescapeCedarString(cedarForm[2]!);
  } else {
    const colon = trimmed.indexOf(':');
    if (colon <= 0) {
      throw invalidRef(ref, 'it has no kind: prefix');
    }
    kind = trimmed.slice(0, colon);
    id = trimmed.slice(colon + 1);
  }
  const type = ENTITY_TYPES_BY_KIND[kind.toLowerCase()];
  if (type === undefined) {
    throw invalidRef(ref, `"${kind}" is not a known kind`);
  }
  if (id.length === 0 || id.trim() !== id) {
    throw invalidRef(ref, 'the name after the kind is empty or has surrounding spaces');
  }
  return { type, id };
}

/** Renders a uid the way Cedar writes it: `Environment::"staging"`. */
export function formatUid(uid: CedarUid): string {
  // JSON string escaping agrees with Cedar's for quotes, backslashes and control characters.
  return `${uid.type}::${JSON.stringify(uid.id)}`;
}

function unescapeCedarString(escaped: string): string {
  return escaped.replace(/\\(.)/g, (_, char: string) => ({ n: '\n', r: '\r', t: '\t', '0': '\0' })[char] ?? char);
}

function invalidRef(ref: string, problem: string): IdpError {
  return new IdpError('INVALID_REF', `Cannot parse the reference "${ref}": ${problem}.`, {
    field: 'resource',
    hint: REF_HINT,
  });
}
