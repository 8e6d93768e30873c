import { z } from 'zod';
import { DashboardData, DashboardList, DashboardQuery } from '@idp/contracts';
import { errorResponses } from '../../http/errors.ts';
import type { RoutesPlugin } from '../../http/types.ts';
import { checkEnv, dashboardData } from './dashboard-data.ts';
import type { DashboardRegistry } from './dashboards.ts';
import type { QueryGate } from './query-gate.ts';

const tags = ['observability'];

/** Under /api/observability/dashboards: the dashboards a caller may see, and one with its data. */
export const dashboardsRoutes: RoutesPlugin<{ dashboards: DashboardRegistry; gate: QueryGate }> = async (
  app,
  { dashboards, gate },
) => {
  app.get(
    '',
    {
      schema: {
        summary:
          "The dashboards the caller may see: every service's generated golden-signal dashboard, the config's and the repositories' (those of the caller's teams, platform-wide ones, and what their views select); with the refused definitions of the caller's teams",
        operationId: 'listDashboards',
        tags,
        response: { 200: DashboardList, ...errorResponses },
      },
    },
    async (req) => dashboards.list(req.ctx.principal),
  );

  app.get(
    '/:name',
    {
      schema: {
        summary:
          "A dashboard's panels with their data over the last `since` in `env`, each query run through the query gate as the caller (so it shows only what the caller may query). One panel's error does not fail the others; 503 only when Prometheus answered none. Unknown and not visible are the same 404",
        operationId: 'getDashboard',
        tags,
        params: z.object({ name: z.string().max(200).describe('The dashboard, e.g. payments-api') }),
        querystring: DashboardQuery,
        response: { 200: DashboardData, ...errorResponses },
      },
    },
    async (req) => {
      // The request's own values first: a bad env is refused the same whether the dashboard exists or not.
      checkEnv(req.query.env);
      const dashboard = await dashboards.get(req.ctx.principal, req.params.name);
      return dashboardData({ gate }, req.ctx.principal, dashboard, req.query);
    },
  );
};
