import type { Migration } from 'kysely';

/**
 * Workload tokens can be listed and revoked (`idp secret:token:list` / `secret:token:revoke`):
 * who revoked one (a person, or system:access-lost when its creator lost access) and when it
 * last served a Vault read.
 */
export const migration0009WorkloadTokenUse: Migration = {
  async up(db) {
    await db.schema.alterTable('workload_tokens').addColumn('revoked_by', 'text').execute();
    await db.schema.alterTable('workload_tokens').addColumn('last_used_at', 'text').execute();
    await db.schema.createIndex('workload_tokens_created_by').on('workload_tokens').column('created_by').execute();
  },
};
