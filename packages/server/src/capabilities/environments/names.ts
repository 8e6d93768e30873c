import { IdpError } from '@idp/contracts';
import { isDnsLabel } from '@idp/core';

/** Environment names are DNS-1123 labels of at most 40 characters, so every derived name fits in 63. */
export const ENV_NAME_MAX = 40;

export function assertEnvName(name: unknown, field = 'name'): string {
  const text = typeof name === 'string' ? name : '';
  if (!isDnsLabel(text) || text.length > ENV_NAME_MAX) {
    const why =
      text.length > ENV_NAME_MAX
        ? `it is ${text.length} characters long (at most ${ENV_NAME_MAX})`
        : 'it is not a DNS-1123 label';
    throw new IdpError('INVALID_NAME', `${field}: "${text.slice(0, 80)}" is not a valid environment name: ${why}`, {
      field,
      hint: `Use lower-case letters, digits and "-", starting and ending with a letter or digit, at most ${ENV_NAME_MAX} characters (e.g. feature-payments).`,
    });
  }
  return text;
}

/** `Alice.Smith@company.com` → `alice-smith`; the part of a namespace that says whose it is. */
export function ownerLabel(emailOrRef: string): string {
  const local = emailOrRef.includes('@') ? emailOrRef.split('@')[0]! : emailOrRef.replace(/^.*[:/]/, '');
  const label = local
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return label || 'user';
}

export interface DerivedNames {
  namespace: string;
  database: string;
  redisPrefix: string;
  redisUser: string;
}

/** The names DESIGN.md promises: namespace `<env>-<owner>`, database `pg-<env>`, redis `redis-<env>`. */
export function deriveNames(env: string, owner: string): DerivedNames {
  const namespace = `${env}-${ownerLabel(owner)}`.slice(0, 63).replace(/-+$/, '');
  return { namespace, database: `pg-${env}`, redisPrefix: `redis-${env}:`, redisUser: `redis-${env}` };
}
