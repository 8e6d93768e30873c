export { ConfigSchema, type IdpConfig } from './schema.ts';
export { loadConfig, parseConfig, type LoadedConfig } from './load.ts';
