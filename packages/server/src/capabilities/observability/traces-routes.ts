import { TraceParams, TraceQuery, TraceResult, TracesQuery, TracesResult } from '@idp/contracts';
import { errorResponses } from '../../http/errors.ts';
import type { RoutesPlugin } from '../../http/types.ts';
import type { TraceService } from './traces.ts';

const tags = ['observability'];
const WHO =
  'Only for who may read its deployments (deploy:read) or whom a team view (observability.teams) grants its logs; anyone else gets an empty answer, as for a service that does not exist.';

/** Under /api/observability/traces. */
export const tracesRoutes: RoutesPlugin<{ traces: TraceService }> = async (app, { traces }) => {
  app.get(
    '',
    {
      schema: {
        summary: `A service's slowest (or most recent) requests in an environment: the edge proxy's span of each, with its duration, status, method, path (no query string), release and how many spans the trace has (the workload's exported spans included). Kept in memory. ${WHO}`,
        operationId: 'listTraces',
        tags,
        querystring: TracesQuery,
        response: { 200: TracesResult, ...errorResponses },
      },
    },
    async (req) => traces.list(req.ctx, req.query),
  );

  app.get(
    '/:traceId',
    {
      schema: {
        summary: `The spans of one trace of a service in an environment, as a tree (depth-first, each with its depth): the proxy's span and the workload's spans under it. ${WHO}`,
        operationId: 'getTrace',
        tags,
        params: TraceParams,
        querystring: TraceQuery,
        response: { 200: TraceResult, ...errorResponses },
      },
    },
    async (req) => traces.get(req.ctx, req.params.traceId, req.query),
  );
};
