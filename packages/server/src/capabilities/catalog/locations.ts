import type { CatalogError, CatalogLocation, RefreshResult } from '@idp/contracts';
import type { RequestContext } from '../../auth/context.ts';
import { LocationIngest } from './ingest.ts';
import { deleteEntityByUid, deleteLocation, updateLocation } from './location-changes.ts';
import { checkoutGitTarget, type GitCheckout } from './location-checkout.ts';
import type { CatalogLocationsDeps } from './location-deps.ts';
import { setIdentitySource } from './location-identity.ts';
import { getLocation, listLocations, locationErrors } from './location-queries.ts';
import { normalizeTarget } from './location-target.ts';
import { refreshAll, refreshEntity, refreshLocation } from './refresh.ts';
import { registerLocation, type RegisterInput, type RegisterOutcome } from './register.ts';
import type { LocationType } from './sources.ts';
import type { LocationRow } from './store.ts';
import { syncConfig } from './sync-config.ts';

export type { CatalogLocationsDeps } from './location-deps.ts';
export { locationNotFound } from './location-view.ts';
export type { RegisterInput, RegisterOutcome } from './register.ts';

/**
 * The catalog's locations: registering, refreshing, re-pointing and unregistering them (and
 * single entities), their errors, and which of them are identity sources. Every write goes
 * through one mutex, is decided by the policy gate and audited in its transaction; a write that
 * changes Users or Groups of an identity source rebuilds the identity Directory (ingest.ts).
 *
 * The operations live beside it by concern: the config at start (sync-config.ts), registering
 * (register.ts), refreshing (refresh.ts), re-pointing and deleting (location-changes.ts),
 * identity sources (location-identity.ts), reading back (location-queries.ts), targets
 * (location-target.ts) and the API's view (location-view.ts).
 */
export class CatalogLocations {
  private readonly ingest: LocationIngest;

  constructor(private readonly deps: CatalogLocationsDeps) {
    this.ingest = new LocationIngest(deps);
  }

  /** Reconciles the config's locations with the stored ones, reads them all, and builds the directory. */
  syncConfig(): Promise<void> {
    return syncConfig(this.deps, this.ingest);
  }

  normalizeTarget(
    target: string,
    type: string | undefined,
    baseDir = process.cwd(),
  ): { type: LocationType; target: string } {
    return normalizeTarget(target, type, baseDir);
  }

  listLocations(): Promise<CatalogLocation[]> {
    return listLocations(this.deps);
  }

  getLocation(id: string): Promise<CatalogLocation> {
    return getLocation(this.deps, id);
  }

  register(ctx: RequestContext, input: RegisterInput): Promise<RegisterOutcome> {
    return registerLocation(this.deps, this.ingest, ctx, input);
  }

  refreshLocation(ctx: RequestContext, id: string): Promise<RefreshResult> {
    return refreshLocation(this.deps, this.ingest, ctx, id);
  }

  /** Every location, one after another. ctx null: the timer (not audited). */
  refreshAll(ctx: RequestContext | null): Promise<RefreshResult[]> {
    return refreshAll(this.deps, this.ingest, ctx);
  }

  updateLocation(ctx: RequestContext, id: string, type: string, target: string): Promise<LocationRow> {
    return updateLocation(this.deps, this.ingest, ctx, id, type, target);
  }

  deleteLocation(ctx: RequestContext, id: string): Promise<void> {
    return deleteLocation(this.deps, this.ingest, ctx, id);
  }

  deleteEntityByUid(ctx: RequestContext, uid: string): Promise<void> {
    return deleteEntityByUid(this.deps, this.ingest, ctx, uid);
  }

  /** Backstage's POST /refresh: reads the entity's location again, now. */
  refreshEntity(ctx: RequestContext, entityRef: string): Promise<void> {
    return refreshEntity(this.deps, this.ingest, ctx, entityRef);
  }

  /** Rebuilds the identity directory from the identity sources (see LocationIngest). */
  rebuildDirectory(actor = 'system:catalog'): Promise<void> {
    return this.ingest.rebuildDirectory(actor);
  }

  /** Marks or unmarks a registered location as an identity source, and reads it again at once. */
  setIdentitySource(ctx: RequestContext, id: string, on: boolean): Promise<RefreshResult> {
    return setIdentitySource(this.deps, this.ingest, ctx, id, on);
  }

  errors(locationId?: string): Promise<CatalogError[]> {
    return locationErrors(this.deps, locationId);
  }

  /** A shallow clone of a git target read by the location registered as `origin` (`type:target`), under its fetch rules. */
  checkoutGit(origin: string, gitTarget: string): Promise<GitCheckout> {
    return checkoutGitTarget(this.deps, origin, gitTarget);
  }
}
