export * from './errors.ts';
export * from './resources.ts';
