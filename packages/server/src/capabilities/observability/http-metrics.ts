import type { FastifyInstance } from 'fastify';
import type { ControlPlaneMetrics } from './metrics-registry.ts';

/**
 * Counts every answered request by its route pattern (`/api/environments/:name`), never its raw
 * URL, which would make one series per name or id; requests no route matched count as "unmatched".
 * Added on the root instance, so it sees every route.
 */
export function instrumentHttp(app: FastifyInstance, metrics: ControlPlaneMetrics): void {
  app.addHook('onResponse', async (req, reply) => {
    metrics.observeHttp(req.method, req.routeOptions.url, reply.statusCode, reply.elapsedTime / 1000);
  });
}
