import { sql, type Migration, type MigrationProvider } from 'kysely';
import { migration0006RuntimeUsers } from './migration-0006-runtime-users.ts';
import { migration0008AuditKeyed } from './migration-0008-audit-keyed.ts';
import { migration0009WorkloadTokenUse } from './migration-0009-workload-token-use.ts';
import { migration0010IdentitySources } from './migration-0010-identity-sources.ts';
import { migration0011DeployKindInferred } from './migration-0011-deploy-kind-inferred.ts';
import { migration0012TemplateTasks } from './migration-0012-template-tasks.ts';
import { migration0013Previews } from './migration-0013-previews.ts';
import { migration0014EnvironmentSecretsMode } from './migration-0014-environment-secrets-mode.ts';
import { migration0015CatalogWarnings } from './migration-0015-catalog-warnings.ts';

/**
 * Versioned migrations, shared by SQLite and PostgreSQL: only portable column types (text,
 * integer, bigint). Never edit a migration that has shipped; add the next one.
 */
const migrations: Record<string, Migration> = {
  '0001_foundation': {
    async up(db) {
      await db.schema
        .createTable('api_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_ref', 'text', (c) => c.notNull())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('description', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text')
        .addColumn('revoked_at', 'text')
        .addColumn('revoked_by', 'text')
        .addColumn('last_used_at', 'text')
        .execute();
      await db.schema.createIndex('api_tokens_user_ref').on('api_tokens').column('user_ref').execute();

      await db.schema
        .createTable('audit_log')
        .addColumn('seq', 'bigint', (c) => c.primaryKey())
        .addColumn('time', 'text', (c) => c.notNull())
        .addColumn('actor', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('decision', 'text', (c) => c.notNull())
        .addColumn('policy_ids', 'text', (c) => c.notNull())
        .addColumn('request_id', 'text')
        .addColumn('details', 'text', (c) => c.notNull())
        .addColumn('prev_hash', 'text', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_log_time').on('audit_log').column('time').execute();
      await db.schema.createIndex('audit_log_actor').on('audit_log').columns(['actor', 'seq']).execute();
      await db.schema.createIndex('audit_log_action').on('audit_log').columns(['action', 'seq']).execute();

      await db.schema
        .createTable('audit_head')
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('seq', 'bigint', (c) => c.notNull())
        .addColumn('hash', 'text', (c) => c.notNull())
        .execute();
      // The head row exists from the start, so the first appends also serialize on its row lock.
      await db
        .insertInto('audit_head')
        .values({ id: 1, seq: 0, hash: '0'.repeat(64) })
        .execute();

      await db.schema
        .createTable('idp_meta')
        .addColumn('key', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '0002_catalog': {
    async up(db) {
      await db.schema
        .createTable('catalog_locations')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('target', 'text', (c) => c.notNull())
        .addColumn('origin', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('refreshed_at', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('last_error', 'text')
        .addUniqueConstraint('catalog_locations_type_target', ['type', 'target'])
        .execute();

      // `entity` is the final JSON as served (uid, etag, relations included), so list endpoints
      // can concatenate stored text instead of parsing and re-serialising every entity.
      await db.schema
        .createTable('catalog_entities')
        .addColumn('uid', 'text', (c) => c.primaryKey())
        .addColumn('ref', 'text', (c) => c.notNull().unique())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('location_id', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('parent_ref', 'text')
        .addColumn('content_hash', 'text', (c) => c.notNull())
        .addColumn('etag', 'text', (c) => c.notNull())
        .addColumn('entity', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('catalog_entities_location').on('catalog_entities').column('location_id').execute();
      await db.schema.createIndex('catalog_entities_kind').on('catalog_entities').columns(['kind', 'ref']).execute();

      // Backstage's search table: one row per indexed leaf, keys and values lower-cased.
      await db.schema
        .createTable('catalog_search')
        .addColumn('entity_uid', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('value', 'text')
        .addColumn('original_value', 'text')
        .execute();
      await db.schema
        .createIndex('catalog_search_key_value')
        .on('catalog_search')
        .columns(['key', 'value', 'entity_uid'])
        .execute();
      await db.schema
        .createIndex('catalog_search_entity')
        .on('catalog_search')
        .columns(['entity_uid', 'key'])
        .execute();

      // Each row is kept by the entity whose spec produced it (originating_uid), in both
      // directions, so removing that entity removes exactly the relations it caused.
      await db.schema
        .createTable('catalog_relations')
        .addColumn('originating_uid', 'text', (c) => c.notNull())
        .addColumn('source_ref', 'text', (c) => c.notNull())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('target_ref', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('catalog_relations_source')
        .on('catalog_relations')
        .columns(['source_ref', 'type'])
        .execute();
      await db.schema
        .createIndex('catalog_relations_origin')
        .on('catalog_relations')
        .column('originating_uid')
        .execute();

      await db.schema
        .createTable('catalog_errors')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('location_id', 'text', (c) => c.notNull())
        .addColumn('seq', 'integer', (c) => c.notNull())
        .addColumn('file', 'text')
        .addColumn('line', 'integer')
        .addColumn('entity_ref', 'text')
        .addColumn('message', 'text', (c) => c.notNull())
        .addColumn('at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createIndex('catalog_errors_location')
        .on('catalog_errors')
        .columns(['location_id', 'seq'])
        .execute();
    },
  },
  '0003_secrets': {
    async up(db) {
      // One row per path; values live only in secret_versions, encrypted (see secrets/crypto.ts).
      await db.schema
        .createTable('secrets')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('env', 'text', (c) => c.notNull())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        .addColumn('current_version', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addColumn('updated_by', 'text', (c) => c.notNull())
        .addColumn('deleted_at', 'text')
        .addColumn('deleted_by', 'text')
        .addUniqueConstraint('secrets_path', ['env', 'service', 'key'])
        .execute();

      await db.schema
        .createTable('secret_versions')
        .addColumn('secret_id', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('ciphertext', 'text', (c) => c.notNull())
        .addColumn('wrapped_key', 'text', (c) => c.notNull())
        .addColumn('key_id', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('secret_versions_pk', ['secret_id', 'version'])
        .execute();

      // Vault's KV v2 versions a whole <env>/<service> map; this counter is that version.
      await db.schema
        .createTable('secret_scopes')
        .addColumn('env', 'text', (c) => c.notNull())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('revision', 'integer', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('secret_scopes_pk', ['env', 'service'])
        .execute();

      await db.schema
        .createTable('workload_tokens')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('token_hash', 'text', (c) => c.notNull().unique())
        .addColumn('env', 'text', (c) => c.notNull())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('grant_id', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text')
        .execute();

      await db.schema
        .createTable('access_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('requester', 'text', (c) => c.notNull())
        .addColumn('pattern', 'text', (c) => c.notNull())
        .addColumn('env', 'text', (c) => c.notNull())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('key_pattern', 'text', (c) => c.notNull())
        .addColumn('owner', 'text')
        .addColumn('reason', 'text', (c) => c.notNull())
        .addColumn('duration_seconds', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('auto_approved', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('pending_until', 'text')
        .addColumn('decided_at', 'text')
        .addColumn('decided_by', 'text')
        .addColumn('rule', 'text', (c) => c.notNull())
        .addColumn('decision_reason', 'text')
        .addColumn('expires_at', 'text')
        .addColumn('revoked_at', 'text')
        .addColumn('revoked_by', 'text')
        .execute();
      await db.schema
        .createIndex('access_requests_requester')
        .on('access_requests')
        .columns(['requester', 'status'])
        .execute();
      await db.schema
        .createIndex('access_requests_scope')
        .on('access_requests')
        .columns(['env', 'service', 'status'])
        .execute();
      await db.schema
        .createIndex('access_requests_status')
        .on('access_requests')
        .columns(['status', 'expires_at'])
        .execute();
    },
  },
  '0004_environments': {
    async up(db) {
      await db.schema
        .createTable('environments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('source_env', 'text')
        .addColumn('owner_ref', 'text')
        .addColumn('owner_email', 'text')
        .addColumn('team', 'text')
        .addColumn('tier', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('ttl_seconds', 'integer')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('ready_at', 'text')
        .addColumn('expires_at', 'text')
        .addColumn('deleted_at', 'text')
        .addColumn('notified_at', 'text')
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('database_name', 'text')
        .addColumn('redis_prefix', 'text')
        .addColumn('redis_user', 'text')
        .addColumn('snapshot', 'text')
        .addColumn('secrets_note', 'text', (c) => c.notNull())
        .addColumn('credentials', 'text')
        .addColumn('error_step', 'text')
        .addColumn('error_message', 'text')
        .execute();
      // One live environment per name; deleted ones are kept for history and metrics.
      await db.schema
        .createIndex('environments_live_name')
        .on('environments')
        .column('name')
        .unique()
        .where(sql.ref('status'), '<>', 'deleted')
        .execute();
      await db.schema.createIndex('environments_owner').on('environments').columns(['owner_ref', 'status']).execute();
      await db.schema.createIndex('environments_expiry').on('environments').columns(['status', 'expires_at']).execute();

      await db.schema
        .createTable('environment_steps')
        .addColumn('env_id', 'text', (c) => c.notNull())
        .addColumn('position', 'integer', (c) => c.notNull())
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('started_at', 'text')
        .addColumn('finished_at', 'text')
        .addColumn('duration_ms', 'integer')
        .addColumn('attempts', 'integer', (c) => c.notNull())
        .addColumn('detail', 'text')
        .addColumn('error', 'text')
        .addPrimaryKeyConstraint('environment_steps_pk', ['env_id', 'name'])
        .execute();

      // The frozen copy of a base environment's database that clones are made from.
      await db.schema
        .createTable('environment_snapshots')
        .addColumn('base', 'text', (c) => c.primaryKey())
        .addColumn('database_name', 'text', (c) => c.notNull())
        .addColumn('taken_at', 'text', (c) => c.notNull())
        .addColumn('change_counter', 'text', (c) => c.notNull())
        .addColumn('duration_ms', 'integer', (c) => c.notNull())
        .execute();
    },
  },
  '0005_deployments': {
    async up(db) {
      await db.schema
        .createTable('releases')
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('commit_sha', 'text', (c) => c.notNull())
        .addColumn('digest', 'text', (c) => c.notNull())
        .addColumn('size_bytes', 'integer', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('build_ms', 'integer')
        .addColumn('build_output', 'text')
        .addColumn('spec', 'text', (c) => c.notNull())
        .addColumn('dir', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('releases_pk', ['service', 'version'])
        .execute();
      await db.schema
        .createTable('deployments')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('env', 'text', (c) => c.notNull())
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('previous_version', 'text')
        .addColumn('strategy', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('promotes', 'integer', (c) => c.notNull())
        .addColumn('abort_requested', 'integer', (c) => c.notNull())
        .addColumn('processes', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('created_by', 'text', (c) => c.notNull())
        .addColumn('finished_at', 'text')
        .execute();
      await db.schema
        .createIndex('deployments_service_env')
        .on('deployments')
        .columns(['service', 'env', 'created_at'])
        .execute();
      // What serves each service in each environment now: one stable release, never two.
      await db.schema
        .createTable('service_runtime')
        .addColumn('env', 'text', (c) => c.notNull())
        .addColumn('service', 'text', (c) => c.notNull())
        .addColumn('namespace', 'text', (c) => c.notNull())
        .addColumn('version', 'text', (c) => c.notNull())
        .addColumn('deployment_id', 'text', (c) => c.notNull())
        .addColumn('processes', 'text')
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('service_runtime_pk', ['env', 'service'])
        .execute();
    },
  },
  '0006_runtime_users': migration0006RuntimeUsers,
  '0008_audit_keyed': migration0008AuditKeyed,
  '0009_workload_token_use': migration0009WorkloadTokenUse,
  '0010_identity_sources': migration0010IdentitySources,
  '0011_deploy_kind_inferred': migration0011DeployKindInferred,
  '0012_template_tasks': migration0012TemplateTasks,
  '0013_previews': migration0013Previews,
  '0014_environment_secrets_mode': migration0014EnvironmentSecretsMode,
  '0015_catalog_warnings': migration0015CatalogWarnings,
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
