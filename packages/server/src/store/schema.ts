import type { Generated } from 'kysely';
import type {
  AccessStatus,
  AuditRecord,
  CatalogLocation,
  DeploymentStatus,
  Environment,
  EnvironmentStatus,
  RegisterLocationRequest,
  Release,
  StepStatus,
} from '@idp/contracts';
import type { DeployStrategy } from '@idp/core';

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

export interface CatalogLocationsTable {
  id: string;
  type: NonNullable<RegisterLocationRequest['type']>;
  target: string;
  /** 'config' (idp.config.yaml) or 'api' (registered by a user). */
  origin: CatalogLocation['origin'];
  created_at: string;
  created_by: string;
  refreshed_at: string | null;
  status: CatalogLocation['status'];
  last_error: string | null;
  /** 1: its User and Group entities make the directory (config, or marked by a platform admin). */
  identity_source: number;
}

export interface CatalogEntitiesTable {
  uid: string;
  /** Lower-case `kind:namespace/name`. */
  ref: string;
  /** Lower-case kind. */
  kind: string;
  namespace: string;
  name: string;
  location_id: string;
  /** The location ref (`type:target`) of the file the entity was read from. */
  source: string;
  /** The Location entity through which it was found; null when read from the registered location itself. */
  parent_ref: string | null;
  /** Hash of the entity as read and validated, before relations: detects source changes. */
  content_hash: string;
  etag: string;
  entity: string;
  updated_at: string;
}

export interface CatalogSearchTable {
  entity_uid: string;
  key: string;
  value: string | null;
  original_value: string | null;
}

export interface CatalogRelationsTable {
  originating_uid: string;
  source_ref: string;
  type: string;
  target_ref: string;
}

export interface CatalogErrorsTable {
  id: string;
  location_id: string;
  seq: number;
  file: string | null;
  line: number | null;
  entity_ref: string | null;
  message: string;
  at: string;
  /** 'error' (the entity or file was refused) or 'warning' (accepted; worth fixing). */
  severity: string;
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

/** Golden paths' tasks (migration 0012); JSON columns are text. */
export interface TasksTable {
  id: string;
  template_ref: string;
  created_by: string;
  status: 'open' | 'processing' | 'completed' | 'failed' | 'cancelled';
  /** The Template entity as it was when the task was created (JSON): a retry runs the same steps. */
  template: string;
  /** The values (JSON) with secret parameters left out. */
  input_values: string;
  /** The secret parameters' names (JSON list): shown as *** by the API. */
  secret_keys: string;
  /** The secret parameters' values, encrypted with the master key (JSON of the sealed text), or null. */
  secrets: string | null;
  output: string | null;
  error: string | null;
  workspace: string;
  cancel_requested: number;
  /** Lines written to task_logs (bounded). */
  log_count: number;
  created_at: string;
  finished_at: string | null;
  workspace_removed_at: string | null;
}

export interface TaskStepsTable {
  task_id: string;
  /** The step's position in spec.steps. */
  idx: number;
  step_id: string;
  name: string | null;
  action: string;
  status: 'pending' | 'running' | 'completed' | 'failed' | 'skipped' | 'cancelled';
  attempts: number;
  started_at: string | null;
  finished_at: string | null;
  output: string | null;
  error: string | null;
  /** JSON: what the action recorded per item (one item without `each`) and the items done with their outputs. */
  checkpoint: string | null;
}

export interface TaskLogsTable {
  task_id: string;
  seq: number;
  at: string;
  step: string | null;
  level: 'info' | 'warn' | 'error';
  message: string;
}

/** Preview environments (migration 0013); JSON columns are text. */
export interface WebhookDeliveriesTable {
  /** X-GitHub-Delivery: a replay of the same id is not processed again. */
  id: string;
  /** X-GitHub-Event, e.g. pull_request, ping. */
  event: string;
  action: string | null;
  /** owner/name as GitHub spells it. */
  repo: string | null;
  number: number | null;
  /** The fields of the payload the life cycle reads (JSON), never the whole body. */
  payload: string;
  /** pending | processing | done | ignored | failed */
  status: string;
  /** What was done, or why nothing was (e.g. "ignored: repository not configured"). */
  outcome: string | null;
  attempts: number;
  received_at: string;
  finished_at: string | null;
}

export interface PreviewsTable {
  repo: string;
  number: number;
  /** The environment, pr-<number>-<repo slug>. */
  env: string;
  /** creating | deploying | ready | failed | deleting | deleted | skipped */
  status: string;
  head_sha: string;
  head_ref: string;
  /** owner/name of the head repository (a fork's, for a pull request from a fork). */
  head_repo: string;
  fork: number;
  /** 1 once a member of the owning team added the trust label to a fork's pull request. */
  trusted: number;
  title: string;
  author: string;
  /** JSON: [{service, version, status, url, deploymentId}] */
  services: string;
  note: string | null;
  /** The id of the one PR comment idp keeps up to date. */
  comment_id: string | null;
  created_at: string;
  updated_at: string;
  expires_at: string | null;
  closed_at: string | null;
}

export interface PreviewReportsTable {
  id: string;
  repo: string;
  number: number;
  /** status | comment */
  kind: string;
  sha: string | null;
  /** JSON of what to send. */
  body: string;
  /** pending | sent | failed */
  status: string;
  attempts: number;
  next_attempt_at: string;
  last_error: string | null;
  created_at: string;
  sent_at: string | null;
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
