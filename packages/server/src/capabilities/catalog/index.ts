export { CatalogService } from './service.ts';
export { FetchRules } from './fetch-rules.ts';
export { catalogRoutes, teamRoutes } from './routes.ts';
export { backstageCatalogRoutes } from './backstage-routes.ts';
