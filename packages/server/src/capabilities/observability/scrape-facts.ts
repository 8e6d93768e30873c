// The labels idp stamps on a release's series, from the platform's own records (never from the workload).
import type { Kysely } from 'kysely';
import type { Database } from '../../store/index.ts';
import { teamOf, type Releases, type ServiceOwners } from '../deployments/index.ts';
import type { WorkloadFacts } from './scrape-targets.ts';

export interface ScrapeFactsDeps {
  db: Kysely<Database>;
  releases: Pick<Releases, 'get'>;
  owners: ServiceOwners;
}

/**
 * team = the catalog owner of the service, env = the environment whose namespace it runs in,
 * metrics = the release's deploy.yaml `metrics:`. Null (not scraped) when any is unknown.
 */
export function scrapeFacts(deps: ScrapeFactsDeps) {
  return async (namespace: string, service: string, version: string): Promise<WorkloadFacts | null> => {
    const env = await deps.db
      .selectFrom('environments')
      .select('name')
      .where('namespace', '=', namespace)
      .where('deleted_at', 'is', null)
      .executeTakeFirst();
    if (!env) return null;
    const team = await teamOf(deps.owners, service);
    if (!team) return null;
    const release = await deps.releases.get(service, version).catch(() => null);
    if (!release) return null;
    return { team, env: env.name, metrics: release.spec.metrics ?? null };
  };
}
