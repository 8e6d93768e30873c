export { Lifecycle, type LifecycleOptions, type StopFailure } from './lifecycle.ts';
export { PeriodicTask, type PeriodicOptions } from './periodic.ts';
export { listenFailure } from './listen.ts';
