import Fastify, { LogController, type FastifyInstance } from 'fastify';
import fastifySwagger from '@fastify/swagger';
import {
  jsonSchemaTransform,
  jsonSchemaTransformObject,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { Principal } from '@idp/contracts';
import { IdpError } from '@idp/contracts';
import type { AuditLog } from './audit/index.ts';
import type { RequestContext } from './auth/context.ts';
import { UnauthenticatedGuard, type UnauthenticatedSettings } from './auth/unauthenticated.ts';
import type { Directory } from './identity/index.ts';
import type { PolicyGate } from './policy/gate.ts';
import type { Store } from './store/index.ts';
import { sendError } from './http/errors.ts';
import { requestIdFor } from './http/request-id.ts';
import './http/types.ts';
import { systemRoutes } from './capabilities/system/index.ts';
import { identityRoutes } from './capabilities/identity/index.ts';
import { tokenRoutes, type TokenService } from './capabilities/tokens/index.ts';
import { auditRoutes } from './capabilities/audit/index.ts';
import { policyRoutes } from './capabilities/policy/index.ts';
import {
  backstageCatalogRoutes,
  catalogRoutes,
  teamRoutes,
  type CatalogService,
} from './capabilities/catalog/index.ts';
import { secretRoutes, vaultRoutes, type SecretsService } from './capabilities/secrets/index.ts';
import { accessRoutes, type AccessService } from './capabilities/access/index.ts';
import { environmentRoutes, type EnvironmentService, type Reaper } from './capabilities/environments/index.ts';
import {
  deploymentRoutes,
  releaseRoutes,
  type DeploymentService,
  type Releases,
} from './capabilities/deployments/index.ts';
import {
  observabilityStatusRoutes,
  type PrometheusService,
  type ScrapeTargets,
} from './capabilities/observability/index.ts';
import { instrumentHttp } from './capabilities/observability/http-metrics.ts';
import type { ControlPlaneMetrics } from './capabilities/observability/metrics-registry.ts';
import { metricsRoutes } from './capabilities/observability/metrics-routes.ts';
import type { QueryGate } from './capabilities/observability/query-gate.ts';
import { queryRoutes } from './capabilities/observability/query-routes.ts';
import type { DashboardRegistry } from './capabilities/observability/dashboards.ts';
import { dashboardsRoutes } from './capabilities/observability/dashboards-routes.ts';

import { logsRoutes } from './capabilities/observability/logs-routes.ts';
import type { LogService } from './capabilities/observability/logs.ts';
import { tracesRoutes } from './capabilities/observability/traces-routes.ts';
import type { TraceService } from './capabilities/observability/traces.ts';
import { templateRoutes, type TemplateService } from './capabilities/templates/index.ts';
import { webhookRoutes, type WebhookRoutesOptions } from './capabilities/previews/webhook-routes.ts';
import type { PreviewQueries } from './capabilities/previews/listing.ts';
import { previewRoutes } from './capabilities/previews/routes.ts';
export interface Services {
  store: Store;
  audit: AuditLog;
  directory: Directory;
  gate: PolicyGate;
  tokens: TokenService;
  catalog: CatalogService;
  secrets: SecretsService;
  access: AccessService;
  environments: EnvironmentService;
  reaper: Reaper;
  deployments: { service: DeploymentService; releases: Releases };
  /** The Prometheus metrics are stored in (managed, external or missing) and the workloads' scrape targets. */
  observability: { prometheus: PrometheusService; targets: ScrapeTargets };
  /** The PromQL query gate: queries scoped to what the caller may read, forwarded to Prometheus. */
  observabilityQuery: QueryGate;
  /** Dashboards as code: generated, the config's and the repositories', with who sees which. */
  dashboards: DashboardRegistry;
  /** The control plane's Prometheus metrics and the token the managed Prometheus scrapes them with. */
  metrics: ControlPlaneMetrics;
  scrapeToken: string;
  /** Replica logs, scoped like reading deployments. */
  logs: LogService;
  /** Request traces (the proxy's spans and the workloads' OTLP spans), scoped like logs. */
  traces: TraceService;
  /** Golden paths: templates from the catalog and the tasks that run them. */
  templates: TemplateService;
  /** GitHub webhook deliveries for previews (config, store, worker); unset: the route answers 503. */
  webhooks?: WebhookRoutesOptions;
  /** Previews of pull requests as the API reads them; unset: no /api/previews. */
  previews?: PreviewQueries;
  version: string;
}

export interface BuildAppOptions {
  logLevel?: string;
  /** Limits on requests without a valid token (config auth.rateLimit); defaults when unset. */
  unauthenticated?: UnauthenticatedSettings;
  log?: (line: string) => void;
}

export async function buildApp(services: Services, opts: BuildAppOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: opts.logLevel ?? process.env.IDP_LOG_LEVEL ?? 'warn', stream: process.stderr },
    genReqId: requestIdFor,
    logController: new LogController({
      requestIdLogLabel: 'requestId',
      disableRequestLogging: process.env.IDP_LOG_REQUESTS !== '1',
    }),
    bodyLimit: 1024 * 1024,
  });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  app.decorateRequest('ctx', null as unknown as RequestContext);
  // Clients (Backstage's among them) send `Content-Type: application/json` with an empty body on
  // DELETE and bodiless POSTs; that is "no body", not malformed JSON. Anything else keeps
  // Fastify's parser and its prototype-poisoning protection.
  const jsonParser = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '' || (typeof body === 'string' && body.trim() === '')) return done(null, undefined);
    return jsonParser(req, body as string, done);
  });

  app.addHook('onRequest', async (req, reply) => {
    reply.header('x-request-id', req.id);
  });
  instrumentHttp(app, services.metrics);

  const guard = new UnauthenticatedGuard(services.audit, opts.unauthenticated, opts.log);
  app.decorate('unauthenticated', guard);
  app.addHook('onClose', async () => guard.close());

  app.addHook('preHandler', async (req, reply) => {
    if (req.routeOptions.config.public) return;
    const header = req.headers.authorization;
    const token =
      typeof header === 'string' && /^Bearer\s+/i.test(header) ? header.replace(/^Bearer\s+/i, '').trim() : undefined;
    let principal: Principal;
    try {
      principal = await services.tokens.authenticate(token);
    } catch (err) {
      if (err instanceof IdpError) {
        // Rate limited per client and collapsed in the audit log (auth/unauthenticated.ts).
        const denied = await guard.deny(
          { ip: req.ip, method: req.method, route: req.routeOptions.url ?? req.url.split('?')[0]!, requestId: req.id },
          err,
        );
        if (denied.retryAfterSeconds !== undefined) reply.header('retry-after', String(denied.retryAfterSeconds));
        throw denied.error;
      }
      throw err;
    }
    req.ctx = { principal, requestId: req.id };
  });

  app.setErrorHandler((err, req, reply) => sendError(req, reply, err));
  app.setNotFoundHandler((req, reply) =>
    sendError(
      req,
      reply,
      new IdpError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`, {
        hint: 'See /openapi.json for the routes.',
      }),
    ),
  );

  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'idp control plane API',
        version: services.version,
        description:
          'The HTTP API behind the idp CLI and portal. Errors: {"error":{"code","message","details"}}; codes in docs/errors.md.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An idp API token' } },
      },
      security: [{ bearer: [] }],
    },
    transform: jsonSchemaTransform,
    transformObject: jsonSchemaTransformObject,
  });

  // Each capability is a plugin under its prefix, given only the services it uses; registered in
  // this order, which is also the order of /openapi.json.
  const typed = app.withTypeProvider<ZodTypeProvider>();
  const s = services;
  await typed.register(systemRoutes, { store: s.store, gate: s.gate });
  await typed.register(identityRoutes, { prefix: '/api' });
  await typed.register(tokenRoutes, { prefix: '/api/tokens', tokens: s.tokens });
  await typed.register(auditRoutes, { prefix: '/api/audit', audit: s.audit, directory: s.directory, gate: s.gate });
  await typed.register(policyRoutes, { prefix: '/api/policy', directory: s.directory, gate: s.gate });
  await typed.register(catalogRoutes, { prefix: '/api/catalog/idp', catalog: s.catalog });
  await typed.register(teamRoutes, { prefix: '/api/teams', catalog: s.catalog });
  await typed.register(backstageCatalogRoutes, { prefix: '/api/catalog', catalog: s.catalog });
  await typed.register(secretRoutes, { prefix: '/api/secrets', secrets: s.secrets });
  await typed.register(accessRoutes, { prefix: '/api/access', access: s.access });
  await typed.register(vaultRoutes, { prefix: '/v1/secret/data', secrets: s.secrets });
  await typed.register(environmentRoutes, { prefix: '/api/environments', environments: s.environments });
  await typed.register(releaseRoutes, { prefix: '/api/releases', releases: s.deployments.releases });
  await typed.register(deploymentRoutes, { prefix: '/api/deployments', deployments: s.deployments.service });
  await typed.register(queryRoutes, { prefix: '/api/observability', gate: s.observabilityQuery });
  await typed.register(observabilityStatusRoutes, {
    prefix: '/api/observability',
    prometheus: s.observability.prometheus,
    targets: s.observability.targets,
  });
  await typed.register(logsRoutes, { prefix: '/api/observability/logs', logs: s.logs });
  await typed.register(tracesRoutes, { prefix: '/api/observability/traces', traces: s.traces });
  await typed.register(dashboardsRoutes, {
    prefix: '/api/observability/dashboards',
    dashboards: s.dashboards,
    gate: s.observabilityQuery,
  });
  await typed.register(templateRoutes, { prefix: '/api', templates: s.templates });
  // No token: the delivery's signature is the authentication (its own raw-body parser and limit).
  if (s.webhooks) await typed.register(webhookRoutes, { prefix: '/api/webhooks', ...s.webhooks });
  if (s.previews) await typed.register(previewRoutes, { prefix: '/api/previews', previews: s.previews });
  // Not under /api: Prometheus's conventional path; the scrape token or an admin token.
  await typed.register(metricsRoutes, {
    metrics: s.metrics,
    tokens: s.tokens,
    audit: s.audit,
    scrapeToken: s.scrapeToken,
  });
  await app.ready();
  return app;
}
