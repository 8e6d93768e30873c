import { IdpError } from '@idp/contracts';

const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;

/**
 * Environment, service and team names are DNS-1123 labels. They reach SQL identifiers, Redis
 * key prefixes and process arguments, so this check runs before anything else does.
 */
export function assertDnsLabel(name: string, field = 'name', maxLength = 63): string {
  if (typeof name !== 'string' || name.length === 0 || name.length > maxLength || !DNS_LABEL.test(name)) {
    throw new IdpError(
      'INVALID_NAME',
      `${field}: "${String(name).slice(0, 80)}" is not a DNS-1123 label of at most ${maxLength} characters`,
      {
        field,
        hint: 'Use lower-case letters, digits and dashes, starting with a letter, e.g. feature-payments.',
      },
    );
  }
  return name;
}

export function isDnsLabel(name: string, maxLength = 63): boolean {
  return name.length > 0 && name.length <= maxLength && DNS_LABEL.test(name);
}
