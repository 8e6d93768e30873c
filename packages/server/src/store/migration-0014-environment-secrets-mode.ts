import type { Migration } from 'kysely';

/**
 * How an environment got its secrets and what it previews: `secrets_mode` is copy (the base's
 * values, as before) or placeholders (the base's secret names only, each with a placeholder
 * value; a fork's preview until its pull request is trusted), with `secret_placeholders` the
 * per-name test values (JSON, from the config; never the base's). `preview_repo`/`preview_number`
 * name the pull request an environment was made for: such environments belong to the repository's
 * team and are not counted against the acting user's own environments.
 */
export const migration0014EnvironmentSecretsMode: Migration = {
  async up(db) {
    await db.schema
      .alterTable('environments')
      .addColumn('secrets_mode', 'text', (c) => c.notNull().defaultTo('copy'))
      .execute();
    await db.schema.alterTable('environments').addColumn('secret_placeholders', 'text').execute();
    await db.schema.alterTable('environments').addColumn('preview_repo', 'text').execute();
    await db.schema.alterTable('environments').addColumn('preview_number', 'integer').execute();
  },
  async down(db) {
    for (const column of ['preview_number', 'preview_repo', 'secret_placeholders', 'secrets_mode'])
      await db.schema.alterTable('environments').dropColumn(column).execute();
  },
};
