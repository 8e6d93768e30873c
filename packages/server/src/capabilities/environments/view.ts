import type { Environment, EnvironmentStep } from '@idp/contracts';
import { formatDuration, shortRef, type CedarEntity } from '@idp/core';
import type { EnvironmentInfra, EnvRow, StepRow } from './types.ts';

/** An environment row as the API answers it: resources, endpoints (never passwords) and steps. */
export function environmentView(row: EnvRow, steps: StepRow[], infra: EnvironmentInfra): Environment {
  const { postgres, redis } = infra;
  const ready = row.ready_at ? Date.parse(row.ready_at) - Date.parse(row.created_at) : null;
  const { owner, ownerRef } = ownerOf(row);
  return {
    name: row.name,
    kind: row.kind,
    sourceEnv: row.source_env,
    owner,
    ownerRef,
    team: row.team,
    tier: row.tier,
    status: row.status,
    ttl: row.ttl_seconds === null ? null : formatDuration(Number(row.ttl_seconds)),
    createdAt: row.created_at,
    readyAt: row.ready_at,
    expiresAt: row.expires_at,
    deletedAt: row.deleted_at,
    provisioningMs: row.kind === 'base' ? null : ready,
    resources: {
      namespace: row.namespace,
      database: row.database_name,
      redis: row.redis_prefix ? row.redis_prefix.replace(/:$/, '') : null,
      secrets: row.secrets_note,
    },
    endpoints: {
      database:
        row.database_name && postgres
          ? {
              host: postgres.endpoint.host,
              port: postgres.endpoint.port,
              database: row.database_name,
              user: row.kind === 'base' ? 'admin' : row.database_name,
            }
          : null,
      redis:
        row.redis_prefix && redis
          ? {
              host: redis.endpoint.host,
              port: redis.endpoint.port,
              db: redis.endpoint.db,
              user: row.kind === 'base' ? null : row.redis_user,
              keyPrefix: row.redis_prefix,
            }
          : null,
    },
    steps: steps.map(stepView),
    error: row.error_step ? { step: row.error_step, message: row.error_message ?? '' } : null,
    secrets: row.secrets_mode === 'placeholders' ? 'placeholders' : 'copy',
    preview:
      row.preview_repo && row.preview_number !== null
        ? { repo: row.preview_repo, number: Number(row.preview_number) }
        : null,
  };
}

/**
 * Who owns it: the user who made it, or for a base environment the Group the config names
 * (`environments.base.<name>.owner`, kept as the row's team), shown as `group:<name>`; a pull
 * request's preview is its repository's team's (made as the repository's actAs user).
 */
function ownerOf(row: EnvRow): { owner: string | null; ownerRef: string | null } {
  if (row.preview_repo && row.team) return { owner: `group:${row.team}`, ownerRef: `group:default/${row.team}` };
  if (row.kind === 'base' && !row.owner_ref)
    return row.team
      ? { owner: `group:${row.team}`, ownerRef: `group:default/${row.team}` }
      : { owner: null, ownerRef: null };
  return { owner: row.owner_email, ownerRef: row.owner_ref };
}

function stepView(s: StepRow): EnvironmentStep {
  return {
    name: s.name,
    status: s.status,
    startedAt: s.started_at,
    finishedAt: s.finished_at,
    durationMs: s.duration_ms === null ? null : Number(s.duration_ms),
    attempts: Number(s.attempts),
    detail: s.detail,
    error: s.error,
  };
}

/** An environment row as Cedar sees it (the resource of every env:* decision). */
export function environmentEntity(row: EnvRow): CedarEntity {
  const attrs: Record<string, unknown> = { base: row.kind === 'base', tier: row.tier };
  if (row.owner_ref) attrs.owner = { type: 'User', id: shortRef(row.owner_ref) };
  if (row.team) attrs.team = { type: 'Group', id: row.team };
  if (row.source_env) attrs.source = row.source_env;
  return { uid: { type: 'Environment', id: row.name }, attrs, parents: [] };
}
