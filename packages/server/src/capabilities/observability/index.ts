export { PrometheusService, findPrometheusBinary, type PrometheusMode, type PrometheusStatus } from './prometheus.ts';
export { prometheusConfig, prometheusConfigYaml, STAMPED_LABELS } from './prometheus-config.ts';
export { ScrapeTargets, parseReleaseKey, type WorkloadFacts } from './scrape-targets.ts';
export { scrapeFacts } from './scrape-facts.ts';
export { observabilityStatusRoutes } from './status-routes.ts';
export { ensureScrapeToken, isScrapeToken, prometheusDir, scrapeTokenPath } from './scrape-token.ts';
export { LogService, type LogServiceDeps } from './logs.ts';
export { logsRoutes } from './logs-routes.ts';
export { logRotationOptions } from './log-rotation-settings.ts';
export { watchersOpen } from './log-follow.ts';
export {
  TeamViews,
  Glob,
  parseLogSelector,
  unknownTeamWarnings,
  type LogSelector,
  type PrincipalViews,
  type TeamViewsDeps,
} from './team-views.ts';
export { DashboardRegistry, catalogServices, type DashboardVisibility, type LoadedDashboard } from './dashboards.ts';
export { dashboardData, PANEL_CONCURRENCY } from './dashboard-data.ts';
export { dashboardsRoutes } from './dashboards-routes.ts';
