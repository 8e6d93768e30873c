import type {
  CatalogError,
  CatalogLocation,
  DependencyNode,
  ImpactReport,
  OnCallContact,
  RefreshResult,
  Team,
  TeamSummary,
} from '@idp/contracts';
import { parseDuration } from '@idp/core';
import type { RequestContext } from '../../auth/context.ts';
import { PeriodicTask } from '../../lifecycle/index.ts';
import type { CatalogDeps, CatalogSettings } from './deps.ts';
import type { CatalogGraph } from './graph.ts';
import type { GitCheckout } from './location-checkout.ts';
import { CatalogLocations, type RegisterInput, type RegisterOutcome } from './locations.ts';
import { readGeneration } from './generation.ts';
import { CatalogQueries } from './query.ts';
import { openReadConnection, type ReadConnection } from './read-connection.ts';
import type { LocationType } from './sources.ts';
import { CatalogStore, type LocationRow } from './store.ts';
import { uuidV7 } from './util.ts';
import { CatalogViews } from './views.ts';

export type { CatalogDeps, CatalogSettings } from './deps.ts';
export { locationNotFound, type RegisterInput, type RegisterOutcome } from './locations.ts';

/**
 * The catalog capability: its locations and their refreshes (locations.ts, which also keeps the
 * identity Directory in step with the User and Group entities of identity sources), the entity
 * store and its queries, and the graph views (views.ts: deps, impact, on-call, teams). This
 * class starts and stops it, runs the periodic refresh, and is the one surface routes call.
 */
export class CatalogService {
  readonly store: CatalogStore;
  readonly queries: CatalogQueries;
  private readonly locations: CatalogLocations;
  private readonly views: CatalogViews;
  private refresher: PeriodicTask | null = null;
  private stopped = false;
  private readonly log: (line: string) => void;
  /** Reads (queries, graph views) on SQLite: a connection of their own, free while an ingest writes. */
  private readonly reads: ReadConnection;

  constructor(private readonly deps: CatalogDeps) {
    const uuid = deps.uuid ?? (() => uuidV7());
    this.log = deps.log ?? (() => {});
    this.store = new CatalogStore(deps.store.db, deps.store.dialect, deps.clock, uuid);
    this.reads = openReadConnection(deps.store);
    this.queries = new CatalogQueries(this.reads.db, this.reads.direct);
    this.locations = new CatalogLocations({
      ...deps,
      tables: this.store,
      queries: this.queries,
      log: this.log,
      uuid,
      stopped: () => this.stopped,
    });
    const readDb = this.reads.db;
    this.views = new CatalogViews({
      db: readDb,
      store: { generation: () => readGeneration(readDb) },
      queries: this.queries,
      directory: deps.directory,
      settings: deps.settings,
    });
  }

  get settings(): CatalogSettings {
    return this.deps.settings;
  }

  /** Reconciles the config's locations, reads them, builds the directory, and starts the refresh timer. */
  async start(opts: { timer?: boolean } = {}): Promise<void> {
    await this.locations.syncConfig();
    if (opts.timer !== false) this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.refresher?.stop();
    await this.reads.close();
  }

  /** One refresh of everything, then the next one interval later: refreshes never overlap. */
  private schedule(): void {
    if (this.stopped || this.refresher) return;
    this.refresher = new PeriodicTask({
      name: 'catalog refresh',
      everyMs: parseDuration(this.deps.settings.refreshInterval, 'catalog.refreshInterval') * 1000,
      run: () => this.refreshAll(null),
      log: this.log,
    });
    this.refresher.start();
  }

  // --- locations (locations.ts) ------------------------------------------------------------

  normalizeTarget(target: string, type: string | undefined, baseDir?: string): { type: LocationType; target: string } {
    return this.locations.normalizeTarget(target, type, baseDir);
  }

  listLocations(): Promise<CatalogLocation[]> {
    return this.locations.listLocations();
  }

  getLocation(id: string): Promise<CatalogLocation> {
    return this.locations.getLocation(id);
  }

  register(ctx: RequestContext, input: RegisterInput): Promise<RegisterOutcome> {
    return this.locations.register(ctx, input);
  }

  refreshLocation(ctx: RequestContext, id: string): Promise<RefreshResult> {
    return this.locations.refreshLocation(ctx, id);
  }

  /** Every location, one after another. ctx null: the timer (not audited). */
  refreshAll(ctx: RequestContext | null): Promise<RefreshResult[]> {
    return this.locations.refreshAll(ctx);
  }

  updateLocation(ctx: RequestContext, id: string, type: string, target: string): Promise<LocationRow> {
    return this.locations.updateLocation(ctx, id, type, target);
  }

  deleteLocation(ctx: RequestContext, id: string): Promise<void> {
    return this.locations.deleteLocation(ctx, id);
  }

  deleteEntityByUid(ctx: RequestContext, uid: string): Promise<void> {
    return this.locations.deleteEntityByUid(ctx, uid);
  }

  /** Backstage's POST /refresh: reads the entity's location again, now. */
  refreshEntity(ctx: RequestContext, entityRef: string): Promise<void> {
    return this.locations.refreshEntity(ctx, entityRef);
  }

  /** The identity Directory, rebuilt from the identity sources' Users and Groups. */
  rebuildDirectory(actor?: string): Promise<void> {
    return this.locations.rebuildDirectory(actor);
  }

  /**
   * A shallow clone of a git target (`repo#branch`) that the location registered as `origin`
   * (`type:target`) read, under the rules it is read with (a template's skeleton beside it); cleanup() removes it.
   */
  checkoutGit(origin: string, gitTarget: string): Promise<GitCheckout> {
    return this.locations.checkoutGit(origin, gitTarget);
  }

  /** Marks or unmarks a registered location as an identity source, and reads it again at once. */
  setIdentitySource(ctx: RequestContext, id: string, on: boolean): Promise<RefreshResult> {
    return this.locations.setIdentitySource(ctx, id, on);
  }

  errors(locationId?: string): Promise<CatalogError[]> {
    return this.locations.errors(locationId);
  }

  // --- graph views (views.ts) --------------------------------------------------------------

  graph(): Promise<CatalogGraph> {
    return this.views.graph();
  }

  resolveRef(input: string, field?: string): Promise<string> {
    return this.views.resolveRef(input, field);
  }

  dependencies(input: string, depth: number): Promise<{ root: DependencyNode; depth: number; truncated: boolean }> {
    return this.views.dependencies(input, depth);
  }

  impact(input: string, page?: { limit?: number; cursor?: string }): Promise<ImpactReport> {
    return this.views.impact(input, page);
  }

  oncall(input: string): Promise<OnCallContact> {
    return this.views.oncall(input);
  }

  teams(): Promise<TeamSummary[]> {
    return this.views.teams();
  }

  team(name: string): Promise<Team> {
    return this.views.team(name);
  }
}
