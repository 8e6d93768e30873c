export { DeploymentService, type DeploymentDeps, type FreezeWindow } from './service.ts';
export { Releases, serviceEntity, teamOf, toRelease, type ServiceOwners } from './releases.ts';
export { deploymentRoutes, releaseRoutes } from './routes.ts';
export { DeployAuthorizer, type DeployAuthzDeps } from './authz.ts';
export { DEFAULT_RELEASE_LIMITS, MIB, type ReleaseLimits } from './archive.ts';
