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
export { createRenderer, isTruthy, type RendererOptions, type SandboxedRenderer } from './render/renderer.ts';
export { parseEntityRef, parseRepoUrl, pick, projectSlug } from './render/filters.ts';
export {
  mergeParameters,
  parameterPages,
  parameterSchemas,
  validateValues,
  type MergedParameters,
  type ParameterProblem,
} from './parameters.ts';
export {
  templateModel,
  templateSummary,
  type TemplateModel,
  type TemplateOutputModel,
  type TemplateStepModel,
} from './template-model.ts';
