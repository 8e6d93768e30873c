export * from './stats.ts';
export * from './dora.ts';
