export { PostgresProvider, assertPgName, SNAPSHOT_OWNER, type CloneResult, type PostgresEndpoint } from './provider.ts';
