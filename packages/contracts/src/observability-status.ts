import { z } from 'zod';

/** Scrape health of one Prometheus job, as its /api/v1/targets reports it. */
export const ScrapeJobHealth = z
  .object({
    job: z
      .string()
      .describe('The scrape job: idp (the control plane) or workloads (replicas with deploy.yaml metrics)'),
    up: z.number().int().describe('Targets whose last scrape succeeded'),
    down: z.number().int().describe('Targets whose last scrape failed'),
    unknown: z.number().int().describe('Targets not scraped yet'),
    lastError: z
      .string()
      .nullable()
      .optional()
      .describe('The last scrape error of a target of the job (platform admins only)'),
  })
  .describe('Scrape health of one job');

export const ObservabilityStatus = z
  .object({
    prometheus: z.object({
      mode: z
        .enum(['managed', 'external', 'missing', 'disabled'])
        .describe(
          'managed: idp runs Prometheus itself (observability.prometheus.binary); external: observability.prometheus.url; missing: neither; disabled: observability.prometheus.enabled is false',
        ),
      url: z.string().nullable().optional().describe('Where Prometheus answers (platform admins only)'),
      ready: z.boolean().nullable().describe('The managed Prometheus answers /-/ready; null when not managed'),
      restarts: z.number().int().describe('Restarts of the managed Prometheus since the control plane started'),
      problem: z.string().nullable().describe('Why metrics are not available, when they are not'),
      hint: z.string().nullable().describe('What to do about the problem'),
    }),
    targets: z.number().int().describe('Workload scrape targets idp wrote (replicas that declare metrics)'),
    scrape: z
      .object({
        reachable: z.boolean().describe('Prometheus answered /api/v1/targets'),
        jobs: z.array(ScrapeJobHealth),
      })
      .describe('Last scrape health from Prometheus'),
  })
  .describe('Where metrics are stored and whether scraping works');
export type ObservabilityStatus = z.infer<typeof ObservabilityStatus>;
