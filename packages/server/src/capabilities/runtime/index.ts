export { RuntimeIsolation, type BuildRequest, type IsolationMode, type IsolationOptions } from './isolation.ts';
export { RuntimeUsers, FIRST_UID, type RuntimeUserKind } from './users.ts';
export { secureDataDir } from './data-dir.ts';
export { seedNpmCache } from './npm-cache.ts';
