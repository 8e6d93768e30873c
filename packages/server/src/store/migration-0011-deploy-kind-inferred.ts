import type { Migration } from 'kysely';

/**
 * A deployment says what made it (`kind`: deploy or rollback), so history shows a rollback as
 * one rather than as the strategy of the release it returned to; earlier rollbacks are the
 * deployments whose rollout skipped the steps (only rollbacks do). A release records what the
 * control plane inferred from its files because deploy.yaml left it out (JSON list, `inferred`).
 */
export const migration0011DeployKindInferred: Migration = {
  async up(db) {
    await db.schema
      .alterTable('deployments')
      .addColumn('kind', 'text', (c) => c.notNull().defaultTo('deploy'))
      .execute();
    await db
      .updateTable('deployments')
      .set({ kind: 'rollback' })
      .where('state', 'like', '%"skipSteps":true%')
      .execute();
    await db.schema.alterTable('releases').addColumn('inferred', 'text').execute();
  },
};
