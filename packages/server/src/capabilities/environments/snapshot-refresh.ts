import type { EnvironmentService } from './service.ts';

/** Re-snapshots base databases that changed, so clones copy fresh data without waiting for pg_dump. */
export async function refreshSnapshots(environments: EnvironmentService, log: (line: string) => void): Promise<void> {
  const snaps = environments.snapshots;
  if (!snaps || (await environments.infra.postgres!.check())) return;
  for (const [name, base] of Object.entries(environments.settings.base)) {
    if (!base.database || base.tier === 'production') continue;
    await snaps
      .withBase(name, () => snaps.current(name, base.database!))
      .catch((err: Error) => log(`environments: snapshot of ${name} failed: ${err.message}`));
  }
}
