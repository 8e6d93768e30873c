import type { Migration } from 'kysely';

/**
 * Identity has a trust root: a catalog location is an identity source (its User and Group
 * entities make the directory) only when the config declares it or a platform admin registered
 * it as one. Locations registered before this migration cannot prove who was an admin then, so
 * only config locations and the bootstrap admin's registrations start as identity sources; an
 * admin marks the others again with `idp catalog:identity-source <id>`.
 */
export const migration0010IdentitySources: Migration = {
  async up(db) {
    await db.schema
      .alterTable('catalog_locations')
      .addColumn('identity_source', 'integer', (c) => c.notNull().defaultTo(0))
      .execute();
    await db
      .updateTable('catalog_locations')
      .set({ identity_source: 1 })
      .where((eb) => eb.or([eb('origin', '=', 'config'), eb('created_by', '=', 'user:default/idp-admin')]))
      .execute();
  },
};
