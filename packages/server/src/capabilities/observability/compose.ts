// The observability parts the composition root builds once the edge proxy and the supervisor
// exist: the control plane's metrics (policy decisions counted as they are made), the Prometheus
// that stores them (managed or external), the query gate and the dashboards.
import type { Kysely } from 'kysely';
import type { EdgeProxy } from '@idp/runtime-local';
import type { ObservabilityConfig } from '../../config/index.ts';
import type { PolicyGate } from '../../policy/gate.ts';
import type { Database } from '../../store/index.ts';
import type { CatalogService } from '../catalog/service.ts';
import type { DeployAuthorizer } from '../deployments/index.ts';
import { catalogServices, DashboardRegistry } from './dashboards.ts';
import { ControlPlaneMetrics, type ControlPlaneMetricsDeps } from './metrics-registry.ts';
import { PrometheusService } from './prometheus.ts';
import { QueryGate } from './query-gate.ts';
import type { ReconcilerLag } from './reconciler-lag.ts';
import type { TeamViews } from './team-views.ts';

export interface ObservabilityParts {
  metrics: ControlPlaneMetrics;
  prometheus: PrometheusService;
  query: QueryGate;
  dashboards: DashboardRegistry;
}

export function composeObservability(deps: {
  db: Kysely<Database>;
  dialect: ControlPlaneMetricsDeps['dialect'];
  config: ObservabilityConfig;
  dataDir: string;
  log: (line: string) => void;
  proxy: EdgeProxy;
  gate: PolicyGate;
  authz: DeployAuthorizer;
  catalog: CatalogService;
  views: TeamViews;
  ownerOf: ControlPlaneMetricsDeps['ownerOf'];
  reconciler: ReconcilerLag;
  replicas: ControlPlaneMetricsDeps['replicas'];
}): ObservabilityParts {
  const metrics = new ControlPlaneMetrics({
    db: deps.db,
    dialect: deps.dialect,
    proxy: deps.proxy,
    ownerOf: deps.ownerOf,
    reconciler: deps.reconciler,
    replicas: deps.replicas,
  });
  deps.gate.onDecision = (action, decision) => metrics.observeDecision(action, decision);
  const prometheus = new PrometheusService({ settings: deps.config.prometheus, dataDir: deps.dataDir, log: deps.log });
  const query = new QueryGate({
    prometheusUrl: () => prometheus.prometheusUrl,
    limits: deps.config.query,
    mayReadTeamsIn: (ref, teams, envName) => deps.authz.mayReadTeamsIn(ref, teams, envName),
  });
  // Dashboards as code: generated per catalog Component, the config's, and each deployed release's.
  const dashboards = new DashboardRegistry({
    db: deps.db,
    services: () => catalogServices(deps.catalog),
    config: deps.config.dashboards,
    visibility: deps.views,
    limits: deps.config.query,
    log: deps.log,
  });
  return { metrics, prometheus, query, dashboards };
}
