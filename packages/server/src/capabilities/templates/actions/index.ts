export { ActionRegistry } from './registry.ts';
export { builtinActions, createActionRegistry, type BuiltinActionDeps } from './builtin.ts';
export type { CatalogRegistrar } from './catalog-register.ts';
export type { EnvironmentsApi, WaitLimits } from './idp-env.ts';
export type { DeploymentsApi } from './idp-deploy.ts';
export { DEFAULT_FILE_LIMITS, type FileLimits } from './workspace.ts';
export { repoContentsUrl, DRY_RUN_COMMIT } from './publish-git.ts';
