import { z } from 'zod';
import { IdpError, type Principal } from '@idp/contracts';
import type { AuditLog } from '../../audit/index.ts';
import { errorResponses } from '../../http/errors.ts';
import type { RoutesPlugin } from '../../http/types.ts';
import type { TokenService } from '../tokens/index.ts';
import type { ControlPlaneMetrics } from './metrics-registry.ts';
import { isScrapeToken } from './scrape-token.ts';

export interface MetricsRoutesOptions {
  metrics: ControlPlaneMetrics;
  tokens: TokenService;
  audit: AuditLog;
  /** The content of <data-dir>/prometheus/scrape.token (ensureScrapeToken). */
  scrapeToken: string;
}

/**
 * At the root, outside /api: `GET /metrics` in Prometheus's text format, for the managed
 * Prometheus (the scrape token) and admins (an admin API token). The control plane's figures
 * carry no team label, so nobody else may read them; teams read their services' series through
 * the query gate. Requests without a valid token go through the unauthenticated guard.
 */
export const metricsRoutes: RoutesPlugin<MetricsRoutesOptions> = async (
  app,
  { metrics, tokens, audit, scrapeToken },
) => {
  app.get(
    '/metrics',
    {
      // Authenticated here: the scrape token is not an API token.
      config: { public: true },
      schema: {
        summary: 'The control plane’s metrics in Prometheus text format (the scrape token or an admin token)',
        description:
          'HTTP requests, policy decisions, environments, deployments, reconciler lag, and the edge proxy’s per-release requests and latency and each replica’s up, restarts, CPU and memory, stamped with team, service, env, namespace and release.',
        operationId: 'metrics',
        tags: ['observability'],
        response: { 200: z.string().describe('Prometheus text exposition format 0.0.4'), ...errorResponses },
      },
    },
    async (req, reply) => {
      const header = req.headers.authorization;
      const token =
        typeof header === 'string' && /^Bearer\s+/i.test(header) ? header.replace(/^Bearer\s+/i, '').trim() : undefined;
      if (!isScrapeToken(token, scrapeToken)) {
        let principal: Principal;
        try {
          principal = await tokens.authenticate(token);
        } catch (err) {
          if (!(err instanceof IdpError)) throw err;
          const denied = await app.unauthenticated.deny(
            { ip: req.ip, method: req.method, route: '/metrics', requestId: req.id },
            err,
          );
          if (denied.retryAfterSeconds !== undefined) reply.header('retry-after', String(denied.retryAfterSeconds));
          throw denied.error;
        }
        if (!principal.roles.includes('admin')) {
          const reason = 'the control plane’s metrics are for admins and the platform’s Prometheus';
          await audit.append({
            actor: principal.ref,
            action: 'metrics:read',
            target: 'platform:idp',
            decision: 'deny',
            requestId: req.id,
            details: { reason },
          });
          throw new IdpError('POLICY_DENIED', `metrics:read on platform:idp denied: ${reason}`, {
            action: 'metrics:read',
            resource: 'platform:idp',
            reason,
            hint: 'Use an admin token, or read your services’ series through /api/observability/query.',
          });
        }
      }
      return reply
        .code(200)
        .header('content-type', metrics.contentType)
        .send(await metrics.text());
    },
  );
};
