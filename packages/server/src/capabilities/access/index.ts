export { AccessService, SYSTEM_ACTOR, type AccessDeps, type AccessSettings } from './service.ts';
export { WebhookNotifier, type WebhookMessage, type NotifierOptions } from './notifier.ts';
export { accessStats, percentile } from './stats.ts';
export { accessRoutes } from './routes.ts';
