export { DeploymentService, type DeploymentDeps, type FreezeWindow } from './service.ts';
export { Releases, toRelease, type ServiceOwners } from './releases.ts';
export { deploymentRoutes } from './routes.ts';
