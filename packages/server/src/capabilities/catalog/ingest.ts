// Ingestion: reading a location (with its trust) and applying what was read to the tables, one write at a time,
// then rebuilding the identity directory when Users or Groups of an identity source changed.
import { sql } from 'kysely';
import type { RefreshResult } from '@idp/contracts';
import type { RequestContext } from '../../auth/context.ts';
import { KeyedMutex } from '../../util/keyed-mutex.ts';
import { loadTrustedDirectory, reconcileIdentity, refuseUntrustedIdentity } from './identity-sources.ts';
import type { CatalogLocationsDeps } from './location-deps.ts';
import { getLocation } from './location-queries.ts';
import { readLocation, type ReadResult } from './read.ts';
import { checkpointOffThread } from './sqlite-checkpoint.ts';
import type { InTransaction, LocationRow, RefreshCounts } from './store.ts';
import { warningsOf } from './location-view.ts';

const ANALYZE_AFTER_CHANGES = 1000;
/** A read of this many entities may change as many: its write leaves the SQLite checkpoint to a worker. */
const LARGE_READ = 1000;

/**
 * Every catalog write goes through one of these (one per service): it holds the mutex that keeps
 * ingestion and deletion one at a time, and the one that keeps directory rebuilds one at a time.
 */
export class LocationIngest {
  /** `writes`: catalog writes (ingestion, deletion) one at a time; `identity`: directory rebuilds one at a time. */
  private readonly serial = new KeyedMutex<'writes' | 'identity'>();

  constructor(private readonly deps: CatalogLocationsDeps) {}

  /** Runs a catalog write, one at a time with the others. */
  write<T>(fn: () => Promise<T>): Promise<T> {
    return this.serial.run('writes', fn);
  }

  /** Reads a location; Users and Groups of a location that is not an identity source become errors. */
  async read(
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

  /** Reads a location again and applies it; audited as catalog:refresh when someone asked (ctx). */
  async refreshRow(
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

  async apply(
    row: LocationRow,
    read: ReadResult,
    hook: InTransaction | undefined,
    create: boolean,
    actor?: string,
  ): Promise<RefreshCounts> {
    const apply = () => this.deps.tables.applyRefresh(row, read, hook, create);
    const counts = await this.write(() =>
      read.entities.length >= LARGE_READ
        ? checkpointOffThread(this.deps.store.db, this.deps.store.dialect, apply)
        : apply(),
    );
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

  async afterWrite(counts: RefreshCounts, actor?: string): Promise<void> {
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

  /** The audit record of a register or refresh, written in the transaction that applies it. */
  auditHook(ctx: RequestContext, action: string, row: LocationRow, policyIds: string[]): InTransaction {
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

  /** The answer to a refresh: the location as it is now, the counts, and how long it took. */
  async resultOf(id: string, counts: RefreshCounts, started: number): Promise<RefreshResult> {
    const location = await getLocation(this.deps, id);
    const { identityChanged: _i, warnings, ...rest } = counts;
    return { location, ...rest, warnings: warningsOf(warnings), durationMs: Math.round(performance.now() - started) };
  }
}
