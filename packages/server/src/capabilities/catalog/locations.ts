import { resolve } from 'node:path';
import { sql } from 'kysely';
import type { Entity } from '@backstage/catalog-model';
import { IdpError, type CatalogError, type CatalogLocation, type RefreshResult } from '@idp/contracts';
import type { RequestContext } from '../../auth/context.ts';
import { PLATFORM } from '../../policy/gate.ts';
import { KeyedMutex } from '../../util/keyed-mutex.ts';
import type { CatalogDeps } from './deps.ts';
import {
  IDENTITY_UNTRUSTED,
  loadTrustedDirectory,
  reconcileIdentity,
  refuseUntrustedIdentity,
} from './identity-sources.ts';
import type { CatalogQueries } from './query.ts';
import { readLocation, type ReadResult } from './read.ts';
import { guessLocationType, LOCATION_TYPES, readsServerFiles, type LocationType } from './sources.ts';
import type { CatalogStore, InTransaction, LocationRow, RefreshCounts } from './store.ts';
import { normalizeRef } from './util.ts';

export interface RegisterInput {
  target: string;
  type?: string;
  dryRun?: boolean;
  /** Backstage's onConflict=refresh: an existing location is refreshed instead of rejected. */
  refreshIfExists?: boolean;
  /** Whether its Users and Groups count (platform admins only); absent: yes for an admin, no otherwise. */
  identitySource?: boolean;
}

export interface RegisterOutcome {
  result: RefreshResult;
  row: LocationRow;
  /** Entities as read (dry run) or as stored afterwards. */
  entities: Entity[];
  existed: boolean;
}

const MAX_ERRORS_LISTED = 1000;
const ANALYZE_AFTER_CHANGES = 1000;

export interface CatalogLocationsDeps extends CatalogDeps {
  /** The catalog's tables, shared with the views. */
  tables: CatalogStore;
  queries: CatalogQueries;
  log: (line: string) => void;
  uuid: () => string;
  /** True once the service stops: the timer's refresh of every location ends early. */
  stopped: () => boolean;
}

/**
 * The catalog's locations: registering, refreshing, re-pointing and unregistering them (and
 * single entities), their errors, and which of them are identity sources. Every write goes
 * through one mutex, is decided by the policy gate and audited in its transaction; a write that
 * changes Users or Groups of an identity source rebuilds the identity Directory.
 */
export class CatalogLocations {
  /** `writes`: catalog writes (ingestion, deletion) one at a time; `identity`: directory rebuilds one at a time. */
  private readonly serial = new KeyedMutex<'writes' | 'identity'>();

  constructor(private readonly deps: CatalogLocationsDeps) {}

  /** Reconciles the config's locations with the stored ones, reads them all, and builds the directory. */
  async syncConfig(): Promise<void> {
    const wanted = this.deps.settings.locations.map((t) =>
      this.normalizeTarget(t, undefined, this.deps.settings.baseDir),
    );
    const sources = this.deps.settings.identitySources?.map((t) =>
      this.normalizeTarget(t, undefined, this.deps.settings.baseDir),
    );
    const isSource = (w: { type: string; target: string }) =>
      sources ? sources.some((s) => s.type === w.type && s.target === w.target) : true;
    const stray = sources?.find((s) => !wanted.some((w) => w.type === s.type && w.target === s.target));
    if (stray) {
      throw new IdpError(
        'CONFIG_INVALID',
        `catalog.identitySources lists ${stray.type}:${stray.target}, which is not in catalog.locations`,
        {
          field: 'catalog.identitySources',
          hint: 'List only entries of catalog.locations; register other identity sources with `idp catalog:register --identity-source`.',
        },
      );
    }
    const rows = await this.deps.tables.listLocations();
    for (const row of rows.filter((r) => r.origin === 'config')) {
      if (!wanted.some((w) => w.type === row.type && w.target === row.target)) {
        await this.serial.run('writes', () => this.deps.tables.deleteLocation(row.id));
        this.deps.log(`catalog: removed location ${row.type}:${row.target} (no longer in the config)`);
      }
    }
    for (const w of wanted) {
      const found = await this.deps.tables.findLocation(w.type, w.target);
      const identity = isSource(w) ? 1 : 0;
      if (found && found.identity_source !== identity) await this.deps.tables.setIdentitySource(found.id, identity);
      const row = found
        ? { ...found, identity_source: identity }
        : this.newLocationRow(w.type, w.target, 'config', 'config', identity);
      const created = !rows.some((r) => r.id === row.id);
      const { result } = await this.refreshRow(row, null, created);
      if (result.location.status === 'error')
        this.deps.log(`warning: catalog location ${w.type}:${w.target}: ${result.location.lastError}`);
      else if (result.errors)
        this.deps.log(
          `warning: catalog location ${w.type}:${w.target}: ${result.errors} problem(s); see \`idp catalog:errors\``,
        );
    }
    await this.rebuildDirectory();
  }

  private newLocationRow(
    type: LocationType,
    target: string,
    origin: 'config' | 'api',
    createdBy: string,
    identity: number,
  ): LocationRow {
    return {
      id: this.deps.uuid(),
      type,
      target,
      origin,
      created_at: this.deps.clock.now().toISOString(),
      created_by: createdBy,
      refreshed_at: null,
      status: 'pending',
      last_error: null,
      identity_source: identity,
    };
  }

  /** Reads a location; Users and Groups of a location that is not an identity source become errors. */
  private async read(
    row: Pick<LocationRow, 'type' | 'target' | 'identity_source' | 'origin' | 'created_by'>,
  ): Promise<ReadResult> {
    // Config locations and a platform admin's may read server files and fetch any address;
    // the rest obey catalog.fetch.allowHosts and never touch the server's disk (sources.ts).
    const trusted = row.origin === 'config' || this.deps.directory.isAdmin(row.created_by);
    return refuseUntrustedIdentity(
      await readLocation(row.type, row.target, { ...this.deps.readOptions, trusted }),
      row,
    );
  }

  normalizeTarget(
    target: string,
    type: string | undefined,
    baseDir = process.cwd(),
  ): { type: LocationType; target: string } {
    const t = (type ?? guessLocationType(target)) as LocationType;
    if (!LOCATION_TYPES.includes(t)) {
      throw new IdpError('VALIDATION_FAILED', `location type "${type}" is not supported; use file, url or git`, {
        field: 'type',
      });
    }
    const trimmed = target.trim();
    if (t === 'file') return { type: t, target: resolve(baseDir, trimmed.replace(/^file:(\/\/)?/, '')) };
    if (t === 'url' && !/^https?:\/\//i.test(trimmed)) {
      throw new IdpError('VALIDATION_FAILED', `url location "${target}" is not an http(s) URL`, { field: 'target' });
    }
    return { type: t, target: trimmed };
  }

  async listLocations(): Promise<CatalogLocation[]> {
    const [rows, stats] = await Promise.all([this.deps.tables.listLocations(), this.deps.tables.locationStats()]);
    return rows.map((r) => toCatalogLocation(r, stats.get(r.id)));
  }

  async getLocation(id: string): Promise<CatalogLocation> {
    const row = await this.deps.tables.getLocation(id);
    if (!row) throw locationNotFound(id);
    const stats = await this.deps.tables.locationStats();
    return toCatalogLocation(row, stats.get(id));
  }

  async register(ctx: RequestContext, input: RegisterInput): Promise<RegisterOutcome> {
    const { type, target } = this.normalizeTarget(input.target, input.type);
    const decision = await this.deps.gate.enforce(ctx, {
      action: 'catalog:register',
      resource: PLATFORM,
      context: { locationType: readsServerFiles(type, target) ? 'file' : type },
    });
    const identity = await this.identityDecision(ctx, input.identitySource);
    const existing = await this.deps.tables.findLocation(type, target);
    if (existing && !input.refreshIfExists) {
      throw new IdpError(
        'CATALOG_LOCATION_EXISTS',
        `the location ${type}:${target} is already registered (id ${existing.id})`,
        {
          field: 'target',
          id: existing.id,
          hint: `Run \`idp catalog:refresh ${existing.id}\` to read it again.`,
        },
      );
    }
    if (existing) {
      const { result, row } = await this.refreshRow(existing, ctx, false);
      return { result, row, entities: await this.entitiesOf(row.id), existed: true };
    }
    const started = performance.now();
    const read = await this.read({
      type,
      target,
      identity_source: identity,
      origin: 'api',
      created_by: ctx.principal.ref,
    });
    if (read.unreachable) {
      throw new IdpError('CATALOG_LOCATION_UNREACHABLE', read.unreachable, { field: 'target', type, target });
    }
    const row = this.newLocationRow(type, target, 'api', ctx.principal.ref, identity);
    if (input.dryRun) {
      const conflicts = await this.conflicts(read);
      return {
        result: {
          location: toCatalogLocation(
            { ...row, id: 'dry-run', status: 'pending', last_error: firstIssue(read, conflicts) },
            { entities: 0, errors: 0 },
          ),
          added: read.entities.length - conflicts.length,
          updated: 0,
          removed: 0,
          unchanged: 0,
          errors: read.issues.length + conflicts.length,
          durationMs: Math.round(performance.now() - started),
        },
        row,
        entities: read.entities.map((e) => e.entity),
        existed: false,
      };
    }
    const counts = await this.apply(
      row,
      read,
      this.auditHook(ctx, 'catalog:register', row, decision.permittedBy),
      true,
      ctx.principal.ref,
    );
    const result = await this.resultOf(row.id, counts, started);
    return { result, row, entities: await this.entitiesOf(row.id), existed: false };
  }

  async refreshLocation(ctx: RequestContext, id: string): Promise<RefreshResult> {
    const row = await this.deps.tables.getLocation(id);
    if (!row) throw locationNotFound(id);
    await this.deps.gate.enforce(ctx, {
      action: 'catalog:refresh',
      resource: PLATFORM,
      context: { locationType: row.type },
    });
    return (await this.refreshRow(row, ctx, false)).result;
  }

  /** Every location, one after another. ctx null: the timer (not audited). */
  async refreshAll(ctx: RequestContext | null): Promise<RefreshResult[]> {
    if (ctx) await this.deps.gate.enforce(ctx, { action: 'catalog:refresh', resource: PLATFORM });
    const out: RefreshResult[] = [];
    for (const row of await this.deps.tables.listLocations()) {
      if (this.deps.stopped() && !ctx) break;
      out.push((await this.refreshRow(row, ctx, false)).result);
    }
    return out;
  }

  private async refreshRow(
    row: LocationRow,
    ctx: RequestContext | null,
    create: boolean,
  ): Promise<{ result: RefreshResult; row: LocationRow }> {
    const started = performance.now();
    const read = await this.read(row);
    const hook = ctx ? this.auditHook(ctx, 'catalog:refresh', row, []) : undefined;
    const counts = await this.apply(row, read, hook, create, ctx?.principal.ref);
    return { result: await this.resultOf(row.id, counts, started), row };
  }

  async updateLocation(ctx: RequestContext, id: string, type: string, target: string): Promise<LocationRow> {
    const row = await this.deps.tables.getLocation(id);
    if (!row) throw locationNotFound(id);
    const next = this.normalizeTarget(target, type);
    await this.deps.gate.enforce(ctx, {
      action: 'catalog:register',
      resource: PLATFORM,
      context: { locationType: readsServerFiles(next.type, next.target) ? 'file' : next.type },
    });
    // Pointing an identity source somewhere else decides who the users are: admins only.
    if (row.identity_source)
      await this.deps.gate.enforce(ctx, {
        action: 'catalog:identity-source',
        resource: PLATFORM,
        context: { locationType: next.type },
      });
    // Reads run with the trust of whoever chose the target (sources.ts), so that is now the updater.
    await this.deps.tables.updateLocationTarget(id, next.type, next.target, ctx.principal.ref);
    const updated = { ...row, ...next, created_by: ctx.principal.ref };
    await this.refreshRow(updated, ctx, false);
    return updated;
  }

  async deleteLocation(ctx: RequestContext, id: string): Promise<void> {
    const row = await this.deps.tables.getLocation(id);
    if (!row) throw locationNotFound(id);
    const decision = await this.deps.gate.enforce(ctx, {
      action: 'catalog:delete',
      resource: PLATFORM,
      context: { locationType: row.type },
    });
    if (row.origin === 'config') {
      throw new IdpError(
        'CONFLICT',
        `the location ${row.type}:${row.target} comes from idp.config.yaml and would come back at the next start`,
        {
          id,
          hint: 'Remove it from catalog.locations in idp.config.yaml and restart the server.',
        },
      );
    }
    const counts = await this.serial.run('writes', () =>
      this.deps.tables.deleteLocation(id, async (trx, c) => {
        await this.deps.audit.append(
          {
            actor: ctx.principal.ref,
            action: 'catalog:delete',
            target: `location:${id}`,
            decision: 'allow',
            policyIds: decision.permittedBy,
            requestId: ctx.requestId,
            details: { type: row.type, target: row.target, removed: c.removed },
          },
          trx,
        );
      }),
    );
    await this.afterWrite(counts, ctx.principal.ref);
  }

  async deleteEntityByUid(ctx: RequestContext, uid: string): Promise<void> {
    const found = await this.deps.queries.byUid(uid);
    const decision = await this.deps.gate.enforce(ctx, { action: 'catalog:delete', resource: PLATFORM });
    if (!found) return;
    const counts = await this.serial.run('writes', () =>
      this.deps.tables.deleteEntity(uid, async (trx) => {
        await this.deps.audit.append(
          {
            actor: ctx.principal.ref,
            action: 'catalog:delete',
            target: `entity:${found.ref}`,
            decision: 'allow',
            policyIds: decision.permittedBy,
            requestId: ctx.requestId,
            details: { uid },
          },
          trx,
        );
      }),
    );
    await this.afterWrite(counts, ctx.principal.ref);
  }

  /** Backstage's POST /refresh: reads the entity's location again, now. */
  async refreshEntity(ctx: RequestContext, entityRef: string): Promise<void> {
    const ref = normalizeRef(entityRef);
    const row = ref ? await this.deps.queries.rowByRef(ref) : undefined;
    if (!row) throw new IdpError('NOT_FOUND', `no entity ${entityRef} in the catalog`, { field: 'entityRef' });
    await this.refreshLocation(ctx, row.location_id);
  }

  private async apply(
    row: LocationRow,
    read: ReadResult,
    hook: InTransaction | undefined,
    create: boolean,
    actor?: string,
  ): Promise<RefreshCounts> {
    const counts = await this.serial.run('writes', () => this.deps.tables.applyRefresh(row, read, hook, create));
    // PostgreSQL plans the search-table subqueries from its statistics, and answers them from the
    // index alone only for pages the visibility map marks all-visible. After a bulk load neither is
    // true until autovacuum comes round, and by-query is several times slower until then.
    if (
      this.deps.store.dialect === 'postgres' &&
      counts.added + counts.updated + counts.removed >= ANALYZE_AFTER_CHANGES
    ) {
      await sql`vacuum (analyze) catalog_entities, catalog_search, catalog_relations`.execute(this.deps.store.db);
    }
    await this.afterWrite(counts, actor);
    return counts;
  }

  private async afterWrite(counts: RefreshCounts, actor?: string): Promise<void> {
    if (counts.identityChanged) await this.rebuildDirectory(actor);
  }

  /**
   * The directory the policy gate and token service read, rebuilt from the User and Group
   * entities of identity sources; then a change of admins is audited and the tokens of users
   * who left are revoked for good (identity-sources.ts). Rebuilds run one at a time.
   */
  async rebuildDirectory(actor = 'system:catalog'): Promise<void> {
    await this.serial.run('identity', async () => {
      const next = await loadTrustedDirectory(this.deps.store.db, this.deps.directory.adminGroup);
      this.deps.directory.replaceWith(next);
      const changes = await reconcileIdentity(
        this.deps.store.db,
        this.deps.audit,
        this.deps.clock,
        this.deps.directory,
        actor,
      );
      if (!changes.initial && (changes.admins.added.length || changes.admins.removed.length)) {
        this.deps.log(
          `identity: platform admins changed (added: ${changes.admins.added.join(', ') || 'none'}; removed: ${changes.admins.removed.join(', ') || 'none'})`,
        );
      }
      for (const r of changes.revoked)
        this.deps.log(
          `identity: ${r.user} left the directory; revoked ${r.apiTokens.length} API and ${r.workloadTokens.length} workload token(s)`,
        );
    });
  }

  /**
   * Whether a location being registered is an identity source. Only platform admins (the
   * catalog:identity-source action) make one; they do by default, unless they say otherwise.
   * Anyone else asking for it is refused (and audited); without asking, theirs is not one.
   */
  private async identityDecision(ctx: RequestContext, asked: boolean | undefined): Promise<number> {
    const req = { action: 'catalog:identity-source', resource: PLATFORM };
    const decision = this.deps.gate.decide(ctx.principal.ref, req);
    if (decision.decision === 'allow') return asked === false ? 0 : 1;
    if (asked) {
      await this.deps.gate.refuse(
        ctx,
        req,
        decision,
        new IdpError(
          IDENTITY_UNTRUSTED,
          'only platform admins may register an identity source (a location whose Users and Groups make the directory)',
          {
            field: 'identitySource',
            hint: 'Register the location without --identity-source (its other entities load), or ask your platform team to register it.',
          },
        ),
      );
    }
    return 0;
  }

  /** Marks or unmarks a registered location as an identity source, and reads it again at once. */
  async setIdentitySource(ctx: RequestContext, id: string, on: boolean): Promise<RefreshResult> {
    const row = await this.deps.tables.getLocation(id);
    if (!row) throw locationNotFound(id);
    const decision = await this.deps.gate.enforce(ctx, {
      action: 'catalog:identity-source',
      resource: PLATFORM,
      context: { locationType: row.type },
    });
    if (row.origin === 'config') {
      throw new IdpError(
        'CONFLICT',
        `the location ${row.type}:${row.target} comes from idp.config.yaml; the config decides whether it is an identity source`,
        {
          id,
          hint: 'Use catalog.identitySources in idp.config.yaml and restart the server.',
        },
      );
    }
    const next = { ...row, identity_source: on ? 1 : 0 };
    const started = performance.now();
    const read = await this.read(next);
    const counts = await this.apply(
      next,
      read,
      async (trx, c) => {
        await trx
          .updateTable('catalog_locations')
          .set({ identity_source: next.identity_source })
          .where('id', '=', id)
          .execute();
        await this.deps.audit.append(
          {
            actor: ctx.principal.ref,
            action: 'catalog:identity-source',
            target: `location:${id}`,
            decision: 'allow',
            policyIds: decision.permittedBy,
            requestId: ctx.requestId,
            details: {
              type: row.type,
              target: row.target,
              identitySource: on,
              added: c.added,
              removed: c.removed,
              errors: c.errors,
            },
          },
          trx,
        );
      },
      false,
      ctx.principal.ref,
    );
    return this.resultOf(id, counts, started);
  }

  private auditHook(ctx: RequestContext, action: string, row: LocationRow, policyIds: string[]): InTransaction {
    return async (trx, c) => {
      await this.deps.audit.append(
        {
          actor: ctx.principal.ref,
          action,
          target: `location:${row.id}`,
          decision: 'allow',
          policyIds,
          requestId: ctx.requestId,
          details: {
            type: row.type,
            target: row.target,
            added: c.added,
            updated: c.updated,
            removed: c.removed,
            errors: c.errors,
          },
        },
        trx,
      );
    };
  }

  private async resultOf(id: string, counts: RefreshCounts, started: number): Promise<RefreshResult> {
    const location = await this.getLocation(id);
    const { identityChanged: _i, ...rest } = counts;
    return { location, ...rest, durationMs: Math.round(performance.now() - started) };
  }

  private async entitiesOf(locationId: string): Promise<Entity[]> {
    const rows = await this.deps.store.db
      .selectFrom('catalog_entities')
      .select('entity')
      .where('location_id', '=', locationId)
      .orderBy('ref')
      .limit(10_000)
      .execute();
    return rows.map((r) => JSON.parse(r.entity) as Entity);
  }

  private async conflicts(read: ReadResult): Promise<string[]> {
    const refs = read.entities.map((e) => e.ref);
    const found = await this.deps.queries.byRefs(refs, undefined);
    return refs.filter((_, i) => found[i] !== null);
  }

  async errors(locationId?: string): Promise<CatalogError[]> {
    let q = this.deps.store.db
      .selectFrom('catalog_errors as e')
      .innerJoin('catalog_locations as l', 'l.id', 'e.location_id')
      .select(['l.type', 'l.target', 'e.file', 'e.line', 'e.entity_ref', 'e.message', 'e.at'])
      .orderBy('l.created_at')
      .orderBy('e.location_id')
      .orderBy('e.seq')
      .limit(MAX_ERRORS_LISTED);
    if (locationId) {
      if (!(await this.deps.tables.getLocation(locationId))) throw locationNotFound(locationId);
      q = q.where('e.location_id', '=', locationId);
    }
    return (await q.execute()).map((r) => ({
      location: `${r.type}:${r.target}`,
      file: r.file,
      line: r.line === null ? null : Number(r.line),
      entityRef: r.entity_ref,
      message: r.message,
      at: r.at,
    }));
  }
}

function toCatalogLocation(r: LocationRow, stats: { entities: number; errors: number } | undefined): CatalogLocation {
  return {
    id: r.id,
    type: r.type,
    target: r.target,
    origin: r.origin === 'config' ? 'config' : 'api',
    createdBy: r.created_by,
    identitySource: Boolean(r.identity_source),
    entities: stats?.entities ?? 0,
    errors: stats?.errors ?? 0,
    refreshedAt: r.refreshed_at,
    status: r.status === 'ok' || r.status === 'error' ? r.status : 'pending',
    lastError: r.last_error,
  };
}

function firstIssue(read: ReadResult, conflicts: string[]): string | null {
  const total = read.issues.length + conflicts.length;
  if (!total) return null;
  const first = read.issues[0]?.message ?? `conflict: ${conflicts[0]} is already in the catalog from another location`;
  return `${total} problem${total === 1 ? '' : 's'}; first: ${first}`;
}

export function locationNotFound(id: string): IdpError {
  return new IdpError('NOT_FOUND', `no catalog location with id ${id}`, {
    field: 'id',
    hint: 'Run `idp catalog:locations` to see location ids.',
  });
}
