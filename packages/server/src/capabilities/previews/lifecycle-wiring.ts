// The preview life cycle for the composition root: the service deciding each delivery, the runner
// acting on the platform as each repository's `actAs` user (a member of its owning team), the
// catalog answering who is in the team, and the reports told after every change.
import { IdpError } from '@idp/contracts';
import type { RequestContext } from '../../auth/context.ts';
import type { PreviewRepositoryConfig, PreviewsConfig } from '../../config/previews.ts';
import type { Directory } from '../../identity/directory.ts';
import { PeriodicTask } from '../../lifecycle/periodic.ts';
import type { Store } from '../../store/index.ts';
import type { CatalogService } from '../catalog/service.ts';
import type { DeploymentService } from '../deployments/service.ts';
import type { Releases } from '../deployments/releases.ts';
import type { EnvironmentService } from '../environments/service.ts';
import type { TokenService } from '../tokens/service.ts';
import { catalogMembership } from './membership.ts';
import { PlatformRunner } from './platform-runner.ts';
import { PreviewLifecycle } from './service.ts';
import { PreviewStore } from './store.ts';

export function composePreviewLifecycle(deps: {
  store: Store;
  config: PreviewsConfig;
  directory: Directory;
  tokens: TokenService;
  catalog: CatalogService;
  environments: EnvironmentService;
  deployments: DeploymentService;
  releases: Releases;
  notify: (repo: string, number: number) => Promise<void>;
  log: (line: string) => void;
}): { lifecycle: PreviewLifecycle; runner: PlatformRunner; stop(): Promise<void> } {
  const actingFor = (repository: PreviewRepositoryConfig): RequestContext => {
    const user = repository.actAs ? deps.directory.findUser(repository.actAs) : undefined;
    if (!user || !deps.directory.teamsOf(user.ref).includes(repository.team))
      throw new IdpError(
        'CONFIG_INVALID',
        `previews.repositories: actAs ${repository.actAs ? `"${repository.actAs}" is not a catalog User of ${repository.team}` : 'is not set'}; previews are made as a member of the owning team`,
        { hint: `Set actAs to a catalog User (a bot user, say) that is a member of ${repository.team}.` },
      );
    return { principal: deps.tokens.principalFor(user.ref, null), requestId: `preview-${Date.now().toString(36)}` };
  };
  const runner = new PlatformRunner({
    environments: deps.environments,
    deployments: {
      upload: (ctx, req, body) => deps.releases.upload(ctx, req, body),
      create: (ctx, req) => deps.deployments.create(ctx, req),
      get: (ctx, id) => deps.deployments.get(ctx, id),
      list: (ctx, q) => deps.deployments.list(ctx, q),
      command: (ctx, id, what) => deps.deployments.command(ctx, id, what),
    },
    actingFor,
    fetch: { timeoutMs: 120_000, maxArchiveBytes: 256 * 1024 * 1024 },
    wait: { timeoutMs: 15 * 60_000, pollMs: 250 },
    log: deps.log,
  });
  const lifecycle = new PreviewLifecycle({
    store: new PreviewStore(deps.store.db),
    config: () => deps.config,
    runner,
    membership: catalogMembership(deps.catalog.queries, deps.directory),
    onChange: deps.notify,
  });
  // Previews past their time to live are torn down (with a note) within a minute.
  const reaper = new PeriodicTask({
    name: 'preview reaper',
    everyMs: 60_000,
    log: deps.log,
    run: async () => {
      const reaped = await lifecycle.reap();
      for (const r of reaped) deps.log(`previews: ${r.repo}#${r.number} ${r.note}`);
    },
  });
  reaper.start();
  return {
    lifecycle,
    runner,
    async stop() {
      // Waits end first, so the reaper's run in flight ends at once; what they cut short is not
      // recorded as failed but redone at the next start.
      lifecycle.stop();
      runner.stop();
      await reaper.stop();
    },
  };
}
