import { sql, type Migration } from 'kysely';

/**
 * The OS users workloads run as (issue 10, isolation): one uid per namespace (its replicas) and
 * one per team (its builds), allocated upward from 200000 and never reused, so files a removed
 * namespace left behind can never belong to a new one. A removed user keeps its row with
 * removed_at set; at most one live row per (kind, name).
 */
export const migration0006RuntimeUsers: Migration = {
  async up(db) {
    await db.schema
      .createTable('runtime_users')
      .addColumn('uid', 'integer', (c) => c.primaryKey())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('name', 'text', (c) => c.notNull())
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('removed_at', 'text')
      .execute();
    await db.schema
      .createIndex('runtime_users_live')
      .on('runtime_users')
      .columns(['kind', 'name'])
      .unique()
      .where(sql.ref('removed_at'), 'is', null)
      .execute();
  },
};
