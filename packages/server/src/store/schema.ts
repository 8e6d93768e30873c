import type { Generated } from 'kysely';
import type {
  AccessStatus,
  AuditRecord,
  DeploymentStatus,
  Environment,
  EnvironmentStatus,
  Release,
  StepStatus,
} from '@idp/contracts';
import type { DeployStrategy } from '@idp/core';
import type {
  CatalogEntitiesTable,
  CatalogErrorsTable,
  CatalogLocationsTable,
  CatalogRelationsTable,
  CatalogSearchTable,
} from './schema-catalog.ts';
import type {
  PreviewReportsTable,
  PreviewsTable,
  TaskLogsTable,
  TaskStepsTable,
  TasksTable,
  WebhookDeliveriesTable,
} from './schema-workflows.ts';

export type * from './schema-catalog.ts';
export type * from './schema-workflows.ts';

/**
 * Times are ISO-8601 UTC strings with milliseconds in both dialects: they sort as text, read the
 * same from SQLite and PostgreSQL, and need no driver-specific parsing.
 */
export interface ApiTokensTable {
  id: string;
  user_ref: string;
  token_hash: string;
  description: string | null;
  created_at: string;
  created_by: string;
  expires_at: string | null;
  revoked_at: string | null;
  revoked_by: string | null;
  last_used_at: string | null;
}

export interface AuditLogTable {
  seq: number;
  time: string;
  actor: string;
  action: string;
  target: string;
  decision: AuditRecord['decision'];
  policy_ids: string;
  request_id: string | null;
  details: string;
  prev_hash: string;
  hash: string;
}

/** One row (id = 1): the last record of the chain, so truncating the log is detectable too. */
export interface AuditHeadTable {
  id: number;
  seq: number;
  hash: string;
  /** From this seq on, records are HMAC-SHA256 under the audit key (0008); null until a keyed start. */
  keyed_from: number | null;
  /** HMAC of a fixed label under the audit key: a start with another key refuses. */
  key_check: string | null;
  /** HMAC over (keyed_from, seq, hash) under the audit key, so the head cannot be edited either. */
  mac: string | null;
}

export interface MetaTable {
  key: string;
  value: string;
  updated_at: string;
}

/** A secret path; its values are in secret_versions. Deleting sets deleted_at and keeps the versions. */
export interface SecretsTable {
  id: string;
  env: string;
  service: string;
  key: string;
  current_version: number;
  created_at: string;
  created_by: string;
  updated_at: string;
  updated_by: string;
  deleted_at: string | null;
  deleted_by: string | null;
}

/** Envelope encryption: ciphertext under a per-version data key, wrapped by the master key (both base64 iv|tag|data). */
export interface SecretVersionsTable {
  secret_id: string;
  version: number;
  ciphertext: string;
  wrapped_key: string;
  /** Which master key wrapped the data key (a fingerprint, not the key). */
  key_id: string;
  created_at: string;
  created_by: string;
}

export interface SecretScopesTable {
  env: string;
  service: string;
  revision: number;
  updated_at: string;
}

export interface WorkloadTokensTable {
  id: string;
  token_hash: string;
  env: string;
  service: string;
  /** Production tokens are bound to the access grant they were issued under and end with it. */
  grant_id: string | null;
  created_at: string;
  created_by: string;
  expires_at: string;
  revoked_at: string | null;
  /** Migration 0009: who revoked it (system:access-lost when its creator lost access). */
  revoked_by: string | null;
  /** Migration 0009: the last Vault read it served. */
  last_used_at: string | null;
}

export interface AccessRequestsTable {
  id: string;
  requester: string;
  pattern: string;
  env: string;
  service: string;
  key_pattern: string;
  owner: string | null;
  reason: string;
  duration_seconds: number;
  /** An approved row past expires_at reads as expired. */
  status: AccessStatus;
  auto_approved: number;
  created_at: string;
  pending_until: string | null;
  decided_at: string | null;
  decided_by: string | null;
  /** JSON array of policy ids. */
  rule: string;
  decision_reason: string | null;
  expires_at: string | null;
  revoked_at: string | null;
  revoked_by: string | null;
}

export interface EnvironmentsTable {
  id: string;
  name: string;
  /** base (declared in the config) | ephemeral (made by env:create) */
  kind: Environment['kind'];
  source_env: string | null;
  owner_ref: string | null;
  owner_email: string | null;
  team: string | null;
  tier: string;
  status: EnvironmentStatus;
  ttl_seconds: number | null;
  created_at: string;
  ready_at: string | null;
  expires_at: string | null;
  deleted_at: string | null;
  /** When the owner was told the environment is about to expire. */
  notified_at: string | null;
  namespace: string;
  database_name: string | null;
  redis_prefix: string | null;
  redis_user: string | null;
  /** JSON {database, takenAt} of the base snapshot the database was cloned from. */
  snapshot: string | null;
  secrets_note: string;
  /** The database and Redis passwords, sealed with the secret store's cipher (JSON). */
  credentials: string | null;
  error_step: string | null;
  error_message: string | null;
  /** copy (the base's values) | placeholders (the base's names, placeholder values); migration 0014. */
  secrets_mode: string;
  /** JSON {NAME: value} of the placeholder values (test values from the config, never the base's). */
  secret_placeholders: string | null;
  /** The pull request an environment previews (owner/name and number); null for others. */
  preview_repo: string | null;
  preview_number: number | null;
}

export interface EnvironmentStepsTable {
  env_id: string;
  position: number;
  name: string;
  status: StepStatus;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  attempts: number;
  detail: string | null;
  error: string | null;
}

export interface EnvironmentSnapshotsTable {
  base: string;
  database_name: string;
  taken_at: string;
  change_counter: string;
  duration_ms: number;
}

export interface ReleasesTable {
  service: string;
  version: string;
  commit_sha: string;
  digest: string;
  size_bytes: number;
  status: Release['status'];
  created_at: string;
  created_by: string;
  build_ms: number | null;
  build_output: string | null;
  /** The normalised deploy.yaml (JSON), with what was inferred filled in. */
  spec: string;
  dir: string;
  /** What was inferred from the release's files (JSON list of {field, value, from}); null before migration 0011. */
  inferred: string | null;
}

export interface DeploymentsTable {
  id: string;
  service: string;
  env: string;
  namespace: string;
  version: string;
  previous_version: string | null;
  /** deploy | rollback (migration 0011). */
  kind: 'deploy' | 'rollback';
  strategy: DeployStrategy;
  status: DeploymentStatus;
  reason: string | null;
  /** The rollout state machine's state (JSON, core's RolloutState). */
  state: string;
  /** Promote commands received (a counter: replays and double clicks end one step only). */
  promotes: number;
  abort_requested: number;
  /** The canary's recorded processes (JSON), to kill them after a control-plane crash. */
  processes: string | null;
  created_at: string;
  created_by: string;
  finished_at: string | null;
}

export interface ServiceRuntimeTable {
  env: string;
  service: string;
  namespace: string;
  version: string;
  deployment_id: string;
  processes: string | null;
  updated_at: string;
}

/** OS users of builds (kind 'build', name = team) and replicas (kind 'namespace'), migration 0006. */
export interface RuntimeUsersTable {
  uid: number;
  kind: 'namespace' | 'build';
  name: string;
  created_at: string;
  removed_at: string | null;
}

export interface Database {
  api_tokens: ApiTokensTable;
  audit_log: AuditLogTable;
  audit_head: AuditHeadTable;
  idp_meta: MetaTable;
  catalog_locations: CatalogLocationsTable;
  catalog_entities: CatalogEntitiesTable;
  catalog_search: CatalogSearchTable;
  catalog_relations: CatalogRelationsTable;
  catalog_errors: CatalogErrorsTable;
  secrets: SecretsTable;
  secret_versions: SecretVersionsTable;
  secret_scopes: SecretScopesTable;
  workload_tokens: WorkloadTokensTable;
  access_requests: AccessRequestsTable;
  environments: EnvironmentsTable;
  environment_steps: EnvironmentStepsTable;
  environment_snapshots: EnvironmentSnapshotsTable;
  releases: ReleasesTable;
  deployments: DeploymentsTable;
  service_runtime: ServiceRuntimeTable;
  runtime_users: RuntimeUsersTable;
  tasks: TasksTable;
  task_steps: TaskStepsTable;
  webhook_deliveries: WebhookDeliveriesTable;
  previews: PreviewsTable;
  preview_reports: PreviewReportsTable;
  task_logs: TaskLogsTable;
}

export type { Generated };
