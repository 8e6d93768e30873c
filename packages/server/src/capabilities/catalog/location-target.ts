// A location's target: normalizing what a user or the config names (type guessed, paths resolved), and the new row for it.
import { resolve } from 'node:path';
import { IdpError } from '@idp/contracts';
import type { CatalogLocationsDeps } from './location-deps.ts';
import { guessLocationType, LOCATION_TYPES, type LocationType } from './sources.ts';
import type { LocationRow } from './store.ts';

export function normalizeTarget(
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

/** A location not yet stored or read. */
export function newLocationRow(
  deps: Pick<CatalogLocationsDeps, 'uuid' | 'clock'>,
  type: LocationType,
  target: string,
  origin: 'config' | 'api',
  createdBy: string,
  identity: number,
): LocationRow {
  return {
    id: deps.uuid(),
    type,
    target,
    origin,
    created_at: deps.clock.now().toISOString(),
    created_by: createdBy,
    refreshed_at: null,
    status: 'pending',
    last_error: null,
    identity_source: identity,
  };
}
