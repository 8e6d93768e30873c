export { PrometheusService, findPrometheusBinary, type PrometheusMode, type PrometheusStatus } from './prometheus.ts';
export { prometheusConfig, prometheusConfigYaml, STAMPED_LABELS } from './prometheus-config.ts';
export { ScrapeTargets, parseReleaseKey, type WorkloadFacts } from './scrape-targets.ts';
export { scrapeFacts } from './scrape-facts.ts';
export { observabilityStatusRoutes } from './status-routes.ts';
export { ensureScrapeToken, isScrapeToken, prometheusDir, scrapeTokenPath } from './scrape-token.ts';
