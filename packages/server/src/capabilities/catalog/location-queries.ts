// Reading locations back: the list, one by id, their stored entities, and the problems found reading them.
import type { Entity } from '@backstage/catalog-model';
import type { CatalogError, CatalogLocation } from '@idp/contracts';
import type { CatalogLocationsDeps } from './location-deps.ts';
import { locationNotFound, toCatalogLocation } from './location-view.ts';

const MAX_ERRORS_LISTED = 1000;

type Deps = Pick<CatalogLocationsDeps, 'tables' | 'store'>;

export async function listLocations(deps: Deps): Promise<CatalogLocation[]> {
  const [rows, stats] = await Promise.all([deps.tables.listLocations(), deps.tables.locationStats()]);
  return rows.map((r) => toCatalogLocation(r, stats.get(r.id)));
}

export async function getLocation(deps: Deps, id: string): Promise<CatalogLocation> {
  const row = await deps.tables.getLocation(id);
  if (!row) throw locationNotFound(id);
  const stats = await deps.tables.locationStats();
  return toCatalogLocation(row, stats.get(id));
}

/** The entities a location holds now, by ref (at most 10,000). */
export async function entitiesOf(deps: Deps, locationId: string): Promise<Entity[]> {
  const rows = await deps.store.db
    .selectFrom('catalog_entities')
    .select('entity')
    .where('location_id', '=', locationId)
    .orderBy('ref')
    .limit(10_000)
    .execute();
  return rows.map((r) => JSON.parse(r.entity) as Entity);
}

/** The problems of every location, or of one, in the order they were found. */
export async function locationErrors(deps: Deps, locationId?: string): Promise<CatalogError[]> {
  let q = deps.store.db
    .selectFrom('catalog_errors as e')
    .innerJoin('catalog_locations as l', 'l.id', 'e.location_id')
    .select(['l.type', 'l.target', 'e.file', 'e.line', 'e.entity_ref', 'e.message', 'e.at', 'e.severity'])
    .orderBy('l.created_at')
    .orderBy('e.location_id')
    .orderBy('e.seq')
    .limit(MAX_ERRORS_LISTED);
  if (locationId) {
    if (!(await deps.tables.getLocation(locationId))) throw locationNotFound(locationId);
    q = q.where('e.location_id', '=', locationId);
  }
  return (await q.execute()).map((r) => ({
    location: `${r.type}:${r.target}`,
    file: r.file,
    line: r.line === null ? null : Number(r.line),
    entityRef: r.entity_ref,
    message: r.message,
    severity: r.severity === 'warning' ? 'warning' : 'error',
    at: r.at,
  }));
}
