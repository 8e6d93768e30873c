// A location as the API shows it (with its entity and error counts), and the error for an unknown location id.
import { IdpError, type CatalogLocation, type CatalogWarning } from '@idp/contracts';
import type { ReadIssue } from './read.ts';
import type { LocationRow } from './store.ts';
import type { LocationStats } from './store-types.ts';

export function toCatalogLocation(r: LocationRow, stats: Partial<LocationStats> | undefined): CatalogLocation {
  return {
    id: r.id,
    type: r.type,
    target: r.target,
    origin: r.origin === 'config' ? 'config' : 'api',
    createdBy: r.created_by,
    identitySource: Boolean(r.identity_source),
    entities: stats?.entities ?? 0,
    errors: stats?.errors ?? 0,
    warnings: stats?.warnings ?? 0,
    refreshedAt: r.refreshed_at,
    status: r.status === 'ok' || r.status === 'error' ? r.status : 'pending',
    lastError: r.last_error,
  };
}

/** The warnings a refresh answers with (all of them are in catalog:errors). */
export function warningsOf(warnings: readonly ReadIssue[]): CatalogWarning[] {
  return warnings
    .slice(0, 100)
    .map((w) => ({ file: w.file, line: w.line, entityRef: w.entityRef, message: w.message }));
}

export function locationNotFound(id: string): IdpError {
  return new IdpError('NOT_FOUND', `no catalog location with id ${id}`, {
    field: 'id',
    hint: 'Run `idp catalog:locations` to see location ids.',
  });
}
