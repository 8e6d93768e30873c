export { DeploymentService, type DeploymentDeps, type FreezeWindow } from './service.ts';
export { Releases, toRelease } from './releases.ts';
export { serviceEntity, teamOf, type ServiceOwners } from './owners.ts';
export { deploymentRoutes, releaseRoutes } from './routes.ts';
export { DeployAuthorizer, type DeployAuthzDeps } from './authz.ts';
export { DEFAULT_RELEASE_LIMITS, MIB, type ReleaseLimits } from './archive.ts';
export type { RolloutTicks } from './rollout-parts.ts';
