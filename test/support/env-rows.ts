// Environment rows as env:create records them, for the unit tests of the environments capability
// that drive its workflow, steps and snapshots on a real store without going through env:create.
import type { Kysely } from 'kysely';
import type { EnvRow } from '../../packages/server/src/capabilities/environments/types.ts';
import type { StepWorkflow } from '../../packages/server/src/capabilities/environments/workflow.ts';
import type { Database } from '../../packages/server/src/store/index.ts';

/**
 * An environment env:create has just recorded: `name` (id `env_<name>` unless `fields` says
 * otherwise), ephemeral, from staging, owned by alice of payments, provisioning since `createdAt`,
 * with a database and Redis keyspace of its own. `fields` replaces any of that.
 */
export function provisioningEnv(name: string, createdAt: Date, fields: Partial<EnvRow> = {}): EnvRow {
  return {
    id: `env_${name}`,
    name,
    kind: 'ephemeral',
    source_env: 'staging',
    owner_ref: 'user:default/alice',
    owner_email: 'alice@company.com',
    team: 'payments',
    tier: 'staging',
    status: 'provisioning',
    ttl_seconds: 3600,
    created_at: createdAt.toISOString(),
    ready_at: null,
    expires_at: null,
    deleted_at: null,
    notified_at: null,
    namespace: `${name}-alice`,
    database_name: `pg-${name}`,
    redis_prefix: `redis-${name}:`,
    redis_user: null,
    snapshot: null,
    secrets_note: 'copied from staging vault',
    credentials: null,
    error_step: null,
    error_message: null,
    secrets_mode: 'copy',
    secret_placeholders: null,
    preview_repo: null,
    preview_number: null,
    ...fields,
  };
}

/** Stores `row`, and with `workflow` its create steps, pending, as env:create does before it schedules them. */
export async function insertEnv(db: Kysely<Database>, row: EnvRow, workflow?: StepWorkflow): Promise<EnvRow> {
  await db.insertInto('environments').values(row).execute();
  if (workflow) await db.insertInto('environment_steps').values(workflow.pendingCreateSteps(row.id)).execute();
  return row;
}
