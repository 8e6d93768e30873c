export * from './errors.ts';
export { hintPlaceholders } from './error-hints.ts';
export * from './resources.ts';
export * from './catalog.ts';
export * from './secrets.ts';
export * from './environments.ts';
export * from './deployments.ts';
export * from './guards.ts';
