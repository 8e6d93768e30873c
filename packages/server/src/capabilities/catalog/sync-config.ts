// At start: reconciling the config's locations (and which are identity sources) with the stored ones, reading them all.
import { IdpError } from '@idp/contracts';
import type { LocationIngest } from './ingest.ts';
import type { CatalogLocationsDeps } from './location-deps.ts';
import { newLocationRow, normalizeTarget } from './location-target.ts';

/** Reconciles the config's locations with the stored ones, reads them all, and builds the directory. */
export async function syncConfig(deps: CatalogLocationsDeps, ingest: LocationIngest): Promise<void> {
  const wanted = deps.settings.locations.map((t) => normalizeTarget(t, undefined, deps.settings.baseDir));
  const sources = deps.settings.identitySources?.map((t) => normalizeTarget(t, undefined, deps.settings.baseDir));
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
  const rows = await deps.tables.listLocations();
  for (const row of rows.filter((r) => r.origin === 'config')) {
    if (!wanted.some((w) => w.type === row.type && w.target === row.target)) {
      await ingest.write(() => deps.tables.deleteLocation(row.id));
      deps.log(`catalog: removed location ${row.type}:${row.target} (no longer in the config)`);
    }
  }
  for (const w of wanted) {
    const found = await deps.tables.findLocation(w.type, w.target);
    const identity = isSource(w) ? 1 : 0;
    if (found && found.identity_source !== identity) await deps.tables.setIdentitySource(found.id, identity);
    const row = found
      ? { ...found, identity_source: identity }
      : newLocationRow(deps, w.type, w.target, 'config', 'config', identity);
    const created = !rows.some((r) => r.id === row.id);
    const { result } = await ingest.refreshRow(row, null, created);
    if (result.location.status === 'error')
      deps.log(`warning: catalog location ${w.type}:${w.target}: ${result.location.lastError}`);
    else if (result.errors)
      deps.log(
        `warning: catalog location ${w.type}:${w.target}: ${result.errors} problem(s); see \`idp catalog:errors\``,
      );
  }
  await ingest.rebuildDirectory();
}
