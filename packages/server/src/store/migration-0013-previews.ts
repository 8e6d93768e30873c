import type { Migration } from 'kysely';

/**
 * Preview environments from pull requests: each GitHub delivery recorded once (its id is the
 * key, so a replay is a no-op) with the fields the life cycle needs and its outcome; one row per
 * pull request's preview with the commit it serves; and an outbox of the reports (commit status,
 * the one PR comment) that go back to GitHub with retries.
 */
export const migration0013Previews: Migration = {
  async up(db) {
    await db.schema
      .createTable('webhook_deliveries')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('event', 'text', (c) => c.notNull())
      .addColumn('action', 'text')
      .addColumn('repo', 'text')
      .addColumn('number', 'integer')
      .addColumn('payload', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('outcome', 'text')
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('received_at', 'text', (c) => c.notNull())
      .addColumn('finished_at', 'text')
      .execute();
    await db.schema.createIndex('webhook_deliveries_status').on('webhook_deliveries').columns(['status']).execute();
    await db.schema
      .createIndex('webhook_deliveries_pr')
      .on('webhook_deliveries')
      .columns(['repo', 'number', 'received_at'])
      .execute();
    await db.schema
      .createTable('previews')
      .addColumn('repo', 'text', (c) => c.notNull())
      .addColumn('number', 'integer', (c) => c.notNull())
      .addColumn('env', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('head_sha', 'text', (c) => c.notNull())
      .addColumn('head_ref', 'text', (c) => c.notNull())
      .addColumn('head_repo', 'text', (c) => c.notNull())
      .addColumn('fork', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('trusted', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('title', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('author', 'text', (c) => c.notNull().defaultTo(''))
      .addColumn('services', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('note', 'text')
      .addColumn('comment_id', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('updated_at', 'text', (c) => c.notNull())
      .addColumn('expires_at', 'text')
      .addColumn('closed_at', 'text')
      .addPrimaryKeyConstraint('previews_pk', ['repo', 'number'])
      .execute();
    await db.schema.createIndex('previews_env').on('previews').columns(['env']).execute();
    await db.schema
      .createTable('preview_reports')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('repo', 'text', (c) => c.notNull())
      .addColumn('number', 'integer', (c) => c.notNull())
      .addColumn('kind', 'text', (c) => c.notNull())
      .addColumn('sha', 'text')
      .addColumn('body', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('next_attempt_at', 'text', (c) => c.notNull())
      .addColumn('last_error', 'text')
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('sent_at', 'text')
      .execute();
    await db.schema
      .createIndex('preview_reports_due')
      .on('preview_reports')
      .columns(['status', 'next_attempt_at'])
      .execute();
  },
  async down(db) {
    await db.schema.dropTable('preview_reports').execute();
    await db.schema.dropTable('previews').execute();
    await db.schema.dropTable('webhook_deliveries').execute();
  },
};
