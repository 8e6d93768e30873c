export { openStore, migrate, redactUrl, type Store, type Dialect, type OpenStoreOptions } from './db.ts';
export type { Database } from './schema.ts';
export { isUniqueViolation } from './unique.ts';
