import { IdpError } from '@idp/contracts';
import { isDnsLabel } from '@idp/core';

export interface SecretPath {
  env: string;
  service: string;
  key: string;
  /** `<env>/<service>/<KEY>` */
  path: string;
}

/** A path or a pattern: `key` is a KEY, `*`, or a KEY prefix ending in `*` (`STRIPE_*`). */
export interface SecretPattern {
  env: string;
  service: string;
  key: string;
  path: string;
}

/** Environment-variable-like names: what workloads read them as. */
const KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
const KEY_PREFIX = /^[A-Za-z_][A-Za-z0-9_.-]{0,126}$/;

const PATH_HINT =
  'Use <env>/<service>/<KEY>, e.g. staging/payments-api/STRIPE_KEY: env and service are DNS labels, KEY is letters, digits and _ . - starting with a letter or _.';

function invalid(text: string, problem: string, field: string, hint = PATH_HINT): IdpError {
  // The path is echoed (truncated): it names a secret, it is never a value.
  return new IdpError('SECRET_PATH_INVALID', `"${text.slice(0, 200)}" is not a secret path: ${problem}`, {
    field,
    hint,
  });
}

function splitScope(text: string, field: string): [string, string, string] {
  const parts = text.split('/');
  if (parts.length !== 3)
    throw invalid(text, `it has ${parts.length} part${parts.length === 1 ? '' : 's'} separated by "/", not 3`, field);
  const [env, service, key] = parts as [string, string, string];
  if (!isDnsLabel(env)) throw invalid(text, `the environment "${env.slice(0, 80)}" is not a DNS-1123 label`, field);
  if (!isDnsLabel(service)) throw invalid(text, `the service "${service.slice(0, 80)}" is not a DNS-1123 label`, field);
  return [env, service, key];
}

export function parseSecretPath(text: string, field = 'path'): SecretPath {
  const [env, service, key] = splitScope(text.trim(), field);
  if (!KEY.test(key)) {
    throw invalid(
      text,
      key.includes('*') ? 'a pattern (*) names no single secret' : `the key "${key.slice(0, 80)}" is not a valid KEY`,
      field,
    );
  }
  return { env, service, key, path: `${env}/${service}/${key}` };
}

export function parseSecretPattern(text: string, field = 'secret'): SecretPattern {
  const [env, service, key] = splitScope(text.trim(), field);
  const ok = key === '*' || KEY.test(key) || (key.endsWith('*') && KEY_PREFIX.test(key.slice(0, -1)));
  if (!ok) {
    throw invalid(
      text,
      `"${key.slice(0, 80)}" is neither a KEY, "*", nor a KEY prefix ending in "*"`,
      field,
      'Use <env>/<service>/<KEY>, <env>/<service>/* or <env>/<service>/PREFIX_*, e.g. production/payments-api/STRIPE_KEY.',
    );
  }
  return { env, service, key, path: `${env}/${service}/${key}` };
}

/** Whether a grant's key pattern covers a key; `*` (a whole service) is covered only by `*`. */
export function keyCovers(pattern: string, key: string): boolean {
  if (pattern === '*') return true;
  if (key === '*') return false;
  if (pattern.endsWith('*')) return key.startsWith(pattern.slice(0, -1));
  return pattern === key;
}

export function checkScope(env: string, service: string): void {
  if (!isDnsLabel(env))
    throw invalid(`${env}/${service}`, `the environment "${env.slice(0, 80)}" is not a DNS-1123 label`, 'env');
  if (!isDnsLabel(service))
    throw invalid(`${env}/${service}`, `the service "${service.slice(0, 80)}" is not a DNS-1123 label`, 'service');
}

export type Tier = 'production' | 'non-production';

/** Tells an environment's tier. */
export type TierLookup = (env: string) => Tier;

/**
 * The one place that decides which environments are production. Today it is the config's
 * secrets.productionEnvironments; when the environments capability declares base environments
 * with tiers, this is the function that switches over.
 */
export function tierLookup(productionEnvironments: readonly string[]): TierLookup {
  const production = new Set(productionEnvironments);
  return (env) => (production.has(env) ? 'production' : 'non-production');
}
