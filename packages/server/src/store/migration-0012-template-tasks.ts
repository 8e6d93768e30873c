import type { Migration } from 'kysely';

/**
 * Golden paths' tasks: one row per run of a template (its values with secret parameters
 * encrypted, its status, output and error), one row per step (and per item of a step with
 * `each`) with its checkpoint, so a retry or a restart goes on from the first step not done, and
 * a bounded log per task.
 */
export const migration0012TemplateTasks: Migration = {
  async up(db) {
    await db.schema
      .createTable('tasks')
      .addColumn('id', 'text', (c) => c.primaryKey())
      .addColumn('template_ref', 'text', (c) => c.notNull())
      .addColumn('created_by', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('template', 'text', (c) => c.notNull())
      .addColumn('input_values', 'text', (c) => c.notNull())
      .addColumn('secret_keys', 'text', (c) => c.notNull().defaultTo('[]'))
      .addColumn('secrets', 'text')
      .addColumn('output', 'text')
      .addColumn('error', 'text')
      .addColumn('workspace', 'text', (c) => c.notNull())
      .addColumn('cancel_requested', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('log_count', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('created_at', 'text', (c) => c.notNull())
      .addColumn('finished_at', 'text')
      .addColumn('workspace_removed_at', 'text')
      .execute();
    await db.schema.createIndex('tasks_created_by').on('tasks').columns(['created_by', 'created_at']).execute();
    await db.schema.createIndex('tasks_status').on('tasks').columns(['status']).execute();
    await db.schema
      .createTable('task_steps')
      .addColumn('task_id', 'text', (c) => c.notNull())
      .addColumn('idx', 'integer', (c) => c.notNull())
      .addColumn('step_id', 'text', (c) => c.notNull())
      .addColumn('name', 'text')
      .addColumn('action', 'text', (c) => c.notNull())
      .addColumn('status', 'text', (c) => c.notNull())
      .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
      .addColumn('started_at', 'text')
      .addColumn('finished_at', 'text')
      .addColumn('output', 'text')
      .addColumn('error', 'text')
      .addColumn('checkpoint', 'text')
      .addPrimaryKeyConstraint('task_steps_pk', ['task_id', 'idx'])
      .execute();
    await db.schema
      .createTable('task_logs')
      .addColumn('task_id', 'text', (c) => c.notNull())
      .addColumn('seq', 'integer', (c) => c.notNull())
      .addColumn('at', 'text', (c) => c.notNull())
      .addColumn('step', 'text')
      .addColumn('level', 'text', (c) => c.notNull())
      .addColumn('message', 'text', (c) => c.notNull())
      .addPrimaryKeyConstraint('task_logs_pk', ['task_id', 'seq'])
      .execute();
  },
};
