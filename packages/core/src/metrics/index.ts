export * from './stats.ts';
export * from './dora.ts';
export * from './environments.ts';
export * from './access.ts';
export * from './cost.ts';
export * from './first-deploy.ts';
export * from './svg-chart.ts';
export * from './adoption.ts';
