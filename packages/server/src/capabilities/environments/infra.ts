import { IdpError } from '@idp/contracts';
import type { BaseEnvironmentConfig, EnvironmentInfra } from './types.ts';

/** What to configure when a store an environment needs is not configured at all. */
export function missing(kind: 'postgres' | 'redis'): string {
  return kind === 'postgres'
    ? 'no PostgreSQL is configured: set postgres.adminUrl in the config (or IDP_POSTGRES_ADMIN_URL), e.g. postgres://postgres@127.0.0.1:5432/postgres'
    : 'no Redis is configured: set redis.url in the config (or IDP_REDIS_URL), e.g. redis://127.0.0.1:6379';
}

export function unavailable(problems: Record<string, string>, from?: string): IdpError {
  const lines = Object.entries(problems)
    .map(([k, v]) => `${k}: ${v}`)
    .join('; ');
  return new IdpError(
    'ENV_PROVIDER_UNAVAILABLE',
    `cannot make ${from ? `a copy of ${from}` : 'this environment'}: ${lines}`,
    { resources: problems },
  );
}

/** Fails fast, before anything is recorded, when a store the source needs is missing or down. */
export async function assertInfra(infra: EnvironmentInfra, from: string, source: BaseEnvironmentConfig): Promise<void> {
  const problems: Record<string, string> = {};
  if (source.database) {
    const pg = infra.postgres;
    const why = pg ? await pg.check() : null;
    if (!pg) problems.database = missing('postgres');
    else if (why)
      problems.database = `PostgreSQL at ${pg.endpoint.host}:${pg.endpoint.port} (${infra.postgresSource}) is unreachable: ${why}`;
  }
  if (source.redisPrefix) {
    const r = infra.redis;
    const why = r ? await r.check() : null;
    if (!r) problems.redis = missing('redis');
    else if (why)
      problems.redis = `Redis at ${r.endpoint.host}:${r.endpoint.port} (${infra.redisSource}) is unreachable: ${why}`;
  }
  if (Object.keys(problems).length) throw unavailable(problems, from);
}
