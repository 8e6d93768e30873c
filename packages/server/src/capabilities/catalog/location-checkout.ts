// A git location's repository checked out for reading files beside an entity it holds (a
// template's skeleton folder), under the rules that read the location that brought the entity
// in: config and platform admins' locations are trusted; anyone else's obey catalog.fetch (and
// may read the shared repositories golden paths publish to), exactly as when they were ingested.
import type { CatalogLocationsDeps } from './location-deps.ts';
import { LOCATION_TYPES, ReadSession, SourceUnreachableError, type LocationType } from './sources.ts';

export interface GitCheckout {
  /** The clone's folder (its real path); removed by cleanup(). */
  dir: string;
  cleanup(): Promise<void>;
}

/**
 * `origin` is the entity's backstage.io/managed-by-origin-location (`type:target` of the location
 * registered); `gitTarget` the `repo#branch` its file was read from (that location or one it led to).
 */
export async function checkoutGitTarget(
  deps: CatalogLocationsDeps,
  origin: string,
  gitTarget: string,
): Promise<GitCheckout> {
  const colon = origin.indexOf(':');
  const type = origin.slice(0, colon) as LocationType;
  const row =
    colon > 0 && LOCATION_TYPES.includes(type)
      ? await deps.tables.findLocation(type, origin.slice(colon + 1))
      : undefined;
  if (!row)
    throw new SourceUnreachableError(
      `the catalog location that registered this entity is gone; register it again to read ${gitTarget}`,
      `git:${gitTarget}`,
    );
  const trusted = row.origin === 'config' || deps.directory.isAdmin(row.created_by);
  const session = new ReadSession({ ...deps.readOptions, trusted });
  try {
    const dir = await session.cloneRepository(gitTarget);
    return { dir, cleanup: () => session.cleanup() };
  } catch (err) {
    await session.cleanup();
    throw err;
  }
}
