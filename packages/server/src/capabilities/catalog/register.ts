// Registering a location: checks (policy, identity source, already registered), the dry run, and the first read.
import type { Entity } from '@backstage/catalog-model';
import { IdpError, type RefreshResult } from '@idp/contracts';
import type { RequestContext } from '../../auth/context.ts';
import { PLATFORM } from '../../policy/gate.ts';
import type { LocationIngest } from './ingest.ts';
import type { CatalogLocationsDeps } from './location-deps.ts';
import { identityDecision } from './location-identity.ts';
import { entitiesOf } from './location-queries.ts';
import { newLocationRow, normalizeTarget } from './location-target.ts';
import { toCatalogLocation, warningsOf } from './location-view.ts';
import type { ReadResult } from './read.ts';
import { readsServerFiles } from './sources.ts';
import type { LocationRow } from './store.ts';

export interface RegisterInput {
  target: string;
  type?: string;
  dryRun?: boolean;
  /** Backstage's onConflict=refresh: an existing location is refreshed instead of rejected. */
  refreshIfExists?: boolean;
  /** Leave RegisterOutcome.entities empty: idp's own API answers with the counts only (10,000 entities are large). */
  withoutEntities?: boolean;
  /** Whether its Users and Groups count (platform admins only); absent: yes for an admin, no otherwise. */
  identitySource?: boolean;
}

export interface RegisterOutcome {
  result: RefreshResult;
  row: LocationRow;
  /** Entities as read (dry run) or as stored afterwards (none when asked withoutEntities). */
  entities: Entity[];
  existed: boolean;
}

export async function registerLocation(
  deps: CatalogLocationsDeps,
  ingest: LocationIngest,
  ctx: RequestContext,
  input: RegisterInput,
): Promise<RegisterOutcome> {
  const { type, target } = normalizeTarget(input.target, input.type);
  const decision = await deps.gate.enforce(ctx, {
    action: 'catalog:register',
    resource: PLATFORM,
    context: { locationType: readsServerFiles(type, target, deps.readOptions?.sharedGitRoots) ? 'file' : type },
  });
  const identity = await identityDecision(deps, ctx, input.identitySource);
  const existing = await deps.tables.findLocation(type, target);
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
    const { result, row } = await ingest.refreshRow(existing, ctx, false);
    return { result, row, entities: input.withoutEntities ? [] : await entitiesOf(deps, row.id), existed: true };
  }
  const started = performance.now();
  const read = await ingest.read({
    type,
    target,
    identity_source: identity,
    origin: 'api',
    created_by: ctx.principal.ref,
  });
  if (read.unreachable) {
    throw new IdpError('CATALOG_LOCATION_UNREACHABLE', read.unreachable, { field: 'target', type, target });
  }
  const row = newLocationRow(deps, type, target, 'api', ctx.principal.ref, identity);
  if (input.dryRun) {
    const conflicts = await conflictsOf(deps, read);
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
        warnings: warningsOf(read.warnings),
        durationMs: Math.round(performance.now() - started),
      },
      row,
      entities: read.entities.map((e) => e.entity),
      existed: false,
    };
  }
  const counts = await ingest.apply(
    row,
    read,
    ingest.auditHook(ctx, 'catalog:register', row, decision.permittedBy),
    true,
    ctx.principal.ref,
  );
  const result = await ingest.resultOf(row.id, counts, started);
  return { result, row, entities: input.withoutEntities ? [] : await entitiesOf(deps, row.id), existed: false };
}

/** The refs read that another location already holds. */
async function conflictsOf(deps: Pick<CatalogLocationsDeps, 'queries'>, read: ReadResult): Promise<string[]> {
  const refs = read.entities.map((e) => e.ref);
  const found = await deps.queries.byRefs(refs, undefined);
  return refs.filter((_, i) => found[i] !== null);
}

function firstIssue(read: ReadResult, conflicts: string[]): string | null {
  const total = read.issues.length + conflicts.length;
  if (!total) return null;
  const first = read.issues[0]?.message ?? `conflict: ${conflicts[0]} is already in the catalog from another location`;
  return `${total} problem${total === 1 ? '' : 's'}; first: ${first}`;
}
