import type { Migration } from 'kysely';

/**
 * The keyed audit chain (docs/adr/0006-audit-chain-keyed.md). The head row learns the seq from
 * which records are HMAC-SHA256 under the audit key (older ones stay plain SHA-256), a check
 * value of that key, and a MAC over (keyed_from, seq, hash) so neither can be edited in the store.
 * Null on a store that no keyed control plane has opened yet.
 */
export const migration0008AuditKeyed: Migration = {
  async up(db) {
    // One column per statement: SQLite's ALTER TABLE adds one at a time.
    await db.schema.alterTable('audit_head').addColumn('keyed_from', 'bigint').execute();
    await db.schema.alterTable('audit_head').addColumn('key_check', 'text').execute();
    await db.schema.alterTable('audit_head').addColumn('mac', 'text').execute();
  },
};
