export { startServer, REPO_ROOT, type StartOptions, type RunningServer } from './server.ts';
export { buildApp, type Services } from './app.ts';
export { openStore, type Store } from './store/index.ts';
export { loadConfig, parseConfig, ConfigSchema, type IdpConfig } from './config/index.ts';
