// The actions idp ships, wired to the services they act through (each as the user, by its own
// policy) and the templates config. Services are narrow interfaces: the real ones fit as they are.
import type { GitCheckoutFn, TemplateAction } from '../types.ts';
import { catalogRegisterAction, type CatalogRegistrar } from './catalog-register.ts';
import { fetchActions } from './fetch.ts';
import { fsActions } from './fs.ts';
import { deployAction, type DeploymentsApi } from './idp-deploy.ts';
import { envCreateAction, type EnvironmentsApi } from './idp-env.ts';
import { notConfiguredAction, publishGitAction } from './publish-git.ts';
import { ActionRegistry } from './registry.ts';
import { DEFAULT_FILE_LIMITS, type FileLimits } from './workspace.ts';

export interface BuiltinActionDeps {
  catalog?: CatalogRegistrar;
  environments?: EnvironmentsApi;
  deployments?: DeploymentsApi;
  /** templates.publish.git.allowedRemotes; none: publish:git is not configured. */
  allowedRemotes?: readonly string[];
  /** templates.limits (maxFiles, maxBytesMiB × 1 MiB). */
  limits?: FileLimits;
  gitTimeoutMs?: number;
  /** Clones the repository of a template read from a git location (fetch:*'s skeleton); the catalog's. */
  gitCheckout?: GitCheckoutFn;
  envWait?: { timeoutMs: number; pollMs: number };
  deployWait?: { timeoutMs: number; pollMs: number };
}

const SAAS: [string, string][] = [
  [
    'publish:github',
    'a GitHub integration, which idp does not have; use publish:git to a remote in templates.publish.git.allowedRemotes',
  ],
  ['publish:github:pull-request', 'a GitHub integration, which idp does not have'],
  ['publish:gitlab', 'a GitLab integration, which idp does not have; use publish:git'],
  ['publish:gitlab:merge-request', 'a GitLab integration, which idp does not have'],
  ['publish:bitbucket', 'a Bitbucket integration, which idp does not have; use publish:git'],
  ['publish:bitbucketCloud', 'a Bitbucket integration, which idp does not have; use publish:git'],
  ['publish:bitbucketServer', 'a Bitbucket integration, which idp does not have; use publish:git'],
  ['publish:azure', 'an Azure DevOps integration, which idp does not have; use publish:git'],
  ['publish:gerrit', 'a Gerrit integration, which idp does not have; use publish:git'],
  ['publish:gitea', 'a Gitea integration, which idp does not have; use publish:git'],
];

export function builtinActions(deps: BuiltinActionDeps = {}): TemplateAction[] {
  const allowedRemotes = deps.allowedRemotes ?? [];
  const gitTimeoutMs = deps.gitTimeoutMs ?? 60_000;
  return [
    ...fetchActions(deps.limits ?? DEFAULT_FILE_LIMITS, deps.gitCheckout),
    ...fsActions(),
    publishGitAction({ allowedRemotes, gitTimeoutMs }),
    ...SAAS.map(([id, needs]) => notConfiguredAction(id, needs)),
    catalogRegisterAction(deps.catalog),
    envCreateAction(deps.environments, deps.envWait ?? { timeoutMs: 10 * 60_000, pollMs: 250 }),
    deployAction(deps.deployments, {
      allowedRemotes,
      gitTimeoutMs,
      wait: deps.deployWait ?? { timeoutMs: 10 * 60_000, pollMs: 250 },
      maxArchiveBytes: (deps.limits ?? DEFAULT_FILE_LIMITS).maxBytes * 2,
    }),
  ];
}

/** A registry holding idp's actions. */
export function createActionRegistry(deps: BuiltinActionDeps = {}): ActionRegistry {
  const registry = new ActionRegistry();
  for (const a of builtinActions(deps)) registry.register(a);
  return registry;
}
