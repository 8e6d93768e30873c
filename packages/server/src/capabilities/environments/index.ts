export {
  EnvironmentService,
  type EnvironmentDeps,
  type EnvironmentInfra,
  type EnvironmentSettings,
  type BaseEnvironmentConfig,
  type NamespaceHook,
  type InternalCreateOptions,
} from './service.ts';
export { syncBaseEnvironments } from './base.ts';
export { Reaper } from './reaper.ts';
export { Snapshots } from './snapshots.ts';
export { assertEnvName, deriveNames, ownerLabel, ENV_NAME_MAX } from './names.ts';
export { environmentRoutes } from './routes.ts';
