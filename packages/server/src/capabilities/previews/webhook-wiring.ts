import type { Clock } from '../../clock.ts';
import type { PreviewsConfig } from '../../config/previews.ts';
import type { Store } from '../../store/index.ts';
import { Deliveries } from './deliveries.ts';
import { DeliveryWorker } from './delivery-worker.ts';
import type { WebhookRoutesOptions } from './webhook-routes.ts';

/**
 * The webhook side of previews for the composition root: the deliveries table, the worker that
 * hands them to the preview life cycle (started with its DeliveryHandler once that exists) and
 * the route's options.
 */
export function composeWebhooks(deps: {
  store: Store;
  clock: Clock;
  config: PreviewsConfig;
  log: (line: string) => void;
}): { deliveries: Deliveries; worker: DeliveryWorker; routes: WebhookRoutesOptions } {
  const deliveries = new Deliveries(deps.store, deps.clock);
  const worker = new DeliveryWorker(deliveries, deps.log);
  return { deliveries, worker, routes: { config: deps.config, deliveries, worker } };
}
