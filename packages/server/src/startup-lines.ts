// The lines `idp server` prints at start-up about where its keys, stores and token are. They name
// sources (a file's path or an environment variable) and fingerprints, never a key or a token.
import type { AdminToken } from './admin-token.ts';
import type { UnlockedAuditKey } from './audit/key.ts';
import type { MasterKey } from './capabilities/secrets/crypto.ts';
import type { EnvironmentInfra } from './capabilities/environments/index.ts';

export function secretsLine(masterKey: MasterKey, webhookTarget: string): string {
  const where =
    masterKey.source === 'IDP_MASTER_KEY'
      ? 'from IDP_MASTER_KEY'
      : `${masterKey.created ? 'created in' : 'in'} ${masterKey.source} (mode 0600; back it up: without it the secrets cannot be read)`;
  return `  secrets: master key ${masterKey.keyId} ${where}; access webhook: ${webhookTarget}`;
}

export function auditLine(
  auditKey: UnlockedAuditKey,
  rateLimit: { unauthenticatedPerMinute: number; burst: number },
): string {
  const where =
    auditKey.source === 'IDP_AUDIT_KEY'
      ? 'from IDP_AUDIT_KEY'
      : `${auditKey.created ? 'created in' : 'in'} ${auditKey.source} (mode 0600; back it up: without it the log cannot be verified)`;
  const upgraded = auditKey.keyedFrom > 1 ? ` from record ${auditKey.keyedFrom} (earlier ones: plain SHA-256)` : '';
  return `  audit: chain keyed (HMAC-SHA256) with key ${auditKey.keyId} ${where}${upgraded}; unauthenticated requests: ${rateLimit.unauthenticatedPerMinute}/min per client, burst ${rateLimit.burst}`;
}

export function storesLine(infra: EnvironmentInfra): string {
  const pg = infra.postgres
    ? `${infra.postgres.endpoint.host}:${infra.postgres.endpoint.port} (${infra.postgresSource})`
    : 'not configured (postgres.adminUrl / IDP_POSTGRES_ADMIN_URL)';
  const redis = infra.redis
    ? `${infra.redis.endpoint.host}:${infra.redis.endpoint.port} (${infra.redisSource})`
    : 'not configured (redis.url / IDP_REDIS_URL)';
  return `  environments: PostgreSQL ${pg}; Redis ${redis}`;
}

export function adminTokenLine(admin: AdminToken, url: string): string {
  return admin.source === 'IDP_ADMIN_TOKEN'
    ? '  admin token: from IDP_ADMIN_TOKEN'
    : `  admin token: ${admin.created ? 'created in' : 'in'} ${admin.source} (mode 0600); use it with: idp login --url ${url} --token "$(cat ${admin.source})"`;
}
