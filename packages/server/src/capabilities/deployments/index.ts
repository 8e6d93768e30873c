export { DeploymentService, type DeploymentDeps, type FreezeWindow } from './service.ts';
export { Releases, serviceEntity, teamOf, toRelease, type ServiceOwners } from './releases.ts';
export { deploymentRoutes } from './routes.ts';
