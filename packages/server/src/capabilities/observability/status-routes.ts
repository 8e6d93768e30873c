import { ObservabilityStatus } from '@idp/contracts';
import { errorResponses } from '../../http/errors.ts';
import type { RoutesPlugin } from '../../http/types.ts';
import type { PrometheusService } from './prometheus.ts';
import type { ScrapeTargets } from './scrape-targets.ts';
import { observabilityStatus } from './status.ts';

/** Under /api/observability: whether metrics work, for any signed-in user (the URL for admins only). */
export const observabilityStatusRoutes: RoutesPlugin<{
  prometheus: PrometheusService;
  targets: ScrapeTargets;
}> = async (app, { prometheus, targets }) => {
  app.get(
    '/status',
    {
      schema: {
        summary: 'Where metrics are stored (managed, external or missing Prometheus) and whether scraping works',
        operationId: 'observabilityStatus',
        tags: ['observability'],
        response: { 200: ObservabilityStatus, ...errorResponses },
      },
    },
    async (req) => observabilityStatus(prometheus, targets, req.ctx.principal.roles.includes('admin')),
  );
};
