export { TemplateService, type TemplatesDeps } from './service.ts';
export { templateRoutes } from './routes.ts';
export { TemplateCatalog, readTemplate, type RunnableTemplate } from './templates-catalog.ts';
export type { ActionLookup, ParameterSchemas, TemplatesSettings } from './task-deps.ts';
