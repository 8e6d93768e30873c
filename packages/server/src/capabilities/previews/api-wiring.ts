import type { AuditLog } from '../../audit/index.ts';
import type { Clock } from '../../clock.ts';
import type { PreviewsConfig } from '../../config/previews.ts';
import type { PolicyGate } from '../../policy/gate.ts';
import type { Store } from '../../store/index.ts';
import type { Deliveries } from './deliveries.ts';
import type { DeliveryWorker } from './delivery-worker.ts';
import { PreviewQueries } from './listing.ts';
import { reportsFromConfig, type PreviewReports } from './reports.ts';

/**
 * The reading side of previews and the reports to GitHub, for the composition root: the
 * queries behind /api/previews (redeploy and delete go through the same deliveries and worker as
 * GitHub's events) and the outbox worker, started here and stopped by the caller.
 */
export function composePreviewApi(deps: {
  store: Store;
  gate: PolicyGate;
  audit: AuditLog;
  clock: Clock;
  config: PreviewsConfig;
  webhooks: { deliveries: Deliveries; worker: DeliveryWorker };
  log: (line: string) => void;
}): { queries: PreviewQueries; reports: PreviewReports } {
  const { deliveries, worker } = deps.webhooks;
  const queries = new PreviewQueries({
    db: deps.store.db,
    gate: deps.gate,
    audit: deps.audit,
    clock: deps.clock,
    config: () => deps.config,
    queue: async (d) => {
      await deliveries.insert({ ...d, status: 'pending', outcome: null });
      worker.kick();
    },
  });
  const reports = reportsFromConfig({
    db: deps.store.db,
    clock: deps.clock,
    log: deps.log,
    github: deps.config.github,
  });
  reports.start();
  return { queries, reports };
}
