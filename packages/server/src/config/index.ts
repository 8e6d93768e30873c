export { ConfigSchema, type IdpConfig } from './schema.ts';
export { loadConfig, parseConfig, type LoadedConfig } from './load.ts';
export { policySourcesFor } from './policies.ts';
export { storeUrls, type StoreUrl } from './stores.ts';
export {
  ObservabilitySchema,
  OBSERVABILITY_DEFAULTS,
  type ObservabilityConfig,
  type TeamViewsConfig,
} from './observability.ts';
export { TemplatesSchema, TEMPLATES_DEFAULTS, type TemplatesConfig } from './templates.ts';
export {
  PreviewsSchema,
  PREVIEWS_DEFAULTS,
  SecretRefSchema,
  resolveSecretRef,
  previewRepository,
  type PreviewsConfig,
  type PreviewRepositoryConfig,
  type SecretRef,
} from './previews.ts';
