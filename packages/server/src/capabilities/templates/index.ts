export { TemplateService, type TemplatesDeps } from './service.ts';
export { templateRoutes } from './routes.ts';
export { TemplateCatalog, readTemplate, type RunnableTemplate } from './templates-catalog.ts';
export type { ActionLookup, ParameterSchemas, TemplatesSettings } from './task-deps.ts';
export {
  ActionRegistry,
  builtinActions,
  createActionRegistry,
  type BuiltinActionDeps,
  type CatalogRegistrar,
  type DeploymentsApi,
  type EnvironmentsApi,
} from './actions/index.ts';
