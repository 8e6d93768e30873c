import type { Migration } from 'kysely';

/**
 * Catalog problems that do not refuse an entity (a Component without spec.lifecycle, say) are
 * kept beside the errors with `severity` 'warning'; everything stored before is an error.
 */
export const migration0015CatalogWarnings: Migration = {
  async up(db) {
    await db.schema
      .alterTable('catalog_errors')
      .addColumn('severity', 'text', (c) => c.notNull().defaultTo('error'))
      .execute();
  },
  async down(db) {
    await db.schema.alterTable('catalog_errors').dropColumn('severity').execute();
  },
};
