// A location as the API shows it (with its entity and error counts), and the error for an unknown location id.
import { IdpError, type CatalogLocation } from '@idp/contracts';
import type { LocationRow } from './store.ts';

export function toCatalogLocation(
  r: LocationRow,
  stats: { entities: number; errors: number } | undefined,
): CatalogLocation {
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

export function locationNotFound(id: string): IdpError {
  return new IdpError('NOT_FOUND', `no catalog location with id ${id}`, {
    field: 'id',
    hint: 'Run `idp catalog:locations` to see location ids.',
  });
}
