import { z } from 'zod';
import { DashboardSpec } from '@idp/contracts';

/**
 * The `observability:` section of idp.config.yaml: where metrics are stored and queried (a real
 * Prometheus, managed by idp or an existing one), the query gate's limits, log retention, and what
 * each team sees. Teams without an entry get the same views derived from what they own.
 */
const duration = (fallback: string) =>
  z
    .string()
    .regex(/^[1-9][0-9]*(ms|s|m|h|d)$/, 'a duration such as 15s, 5m, 2h or 7d')
    .default(fallback);

const glob = z
  .string()
  .min(1)
  .max(200)
  .regex(
    /^[a-z0-9*?._-]+$/,
    'a name glob such as payments-* (lowercase letters, digits, . _ - and the wildcards * ? only)',
  );

/** `namespace=payments-*`, `service=payments-api`, `env=staging`: which replicas' logs a team reads. */
const logSelector = z
  .string()
  .regex(
    /^(namespace|service|env)=[a-z0-9*?._-]+$/,
    'a log selector such as namespace=payments-*, service=payments-api or env=staging (label namespace, service or env; glob of lowercase letters, digits, . _ - and the wildcards * ? only)',
  );

const TeamViewsSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, 'a Group name (DNS-1123 label)')
      .describe('The Group (team) these views are for'),
    members: z
      .array(z.string().min(1))
      .optional()
      .describe("Users who see these views; default: the members of the catalog's Group of that name"),
    views: z
      .object({
        dashboards: z.array(glob).default([]).describe('Dashboards the team sees, by name glob'),
        logs: z
          .object({ paths: z.array(logSelector).default([]).describe('Log selectors the team reads') })
          .strict()
          .default({ paths: [] }),
      })
      .strict()
      .default({ dashboards: [], logs: { paths: [] } }),
  })
  .strict();

export const ObservabilitySchema = z
  .object({
    prometheus: z
      .object({
        enabled: z
          .boolean()
          .default(true)
          .describe(
            'false: no metrics storage at all (no managed Prometheus, queries answer 503); /metrics still answers',
          ),
        url: z
          .string()
          .regex(/^https?:\/\//, 'an http:// or https:// URL')
          .optional()
          .describe(
            'An existing Prometheus to query (idp then only writes its scrape targets); unset: idp runs its own',
          ),
        binary: z
          .string()
          .min(1)
          .default('prometheus')
          .describe('The Prometheus binary idp starts when `url` is unset (apt-get install -y prometheus)'),
        listen: z
          .string()
          .regex(/^[0-9.]+:[0-9]+$/, 'host:port, e.g. 127.0.0.1:9091 (port 0 picks a free one)')
          .default('127.0.0.1:9091')
          .describe('Where the Prometheus idp manages listens; keep it on loopback'),
        scrapeInterval: duration('15s').describe('How often targets are scraped'),
        retention: duration('7d').describe('How long the managed Prometheus keeps samples'),
      })
      .strict()
      .default({
        enabled: true,
        binary: 'prometheus',
        listen: '127.0.0.1:9091',
        scrapeInterval: '15s',
        retention: '7d',
      }),
    query: z
      .object({
        maxQueryBytes: z.number().int().min(64).max(65536).default(4096).describe('Longest PromQL query accepted'),
        maxRange: duration('31d').describe('Longest time range of a range query'),
        maxPoints: z
          .number()
          .int()
          .min(1)
          .max(1_000_000)
          .default(11_000)
          .describe('Most points per series in a range query (range / step)'),
        timeout: duration('30s').describe('How long a query may run in Prometheus'),
      })
      .strict()
      .default({ maxQueryBytes: 4096, maxRange: '31d', maxPoints: 11_000, timeout: '30s' }),
    logs: z
      .object({
        maxFileMiB: z
          .number()
          .int()
          .min(1)
          .max(1024)
          .default(10)
          .describe('A replica log file is rotated past this size'),
        maxFiles: z.number().int().min(1).max(100).default(5).describe('Rotated files kept per replica'),
        maxAge: duration('7d').describe('Rotated files older than this are removed'),
      })
      .strict()
      .default({ maxFileMiB: 10, maxFiles: 5, maxAge: '7d' }),
    traces: z
      .object({
        port: z
          .number()
          .int()
          .min(0)
          .max(65535)
          .optional()
          .describe(
            'The OTLP/HTTP receiver (POST /v1/traces) on loopback; IDP_OTLP_PORT overrides it, 0 picks a free one; unset: 4318, or a free port when 4318 is taken',
          ),
        maxBodyKiB: z.number().int().min(1).max(16_384).default(1024).describe('Largest export request accepted'),
        maxSpansPerRequest: z.number().int().min(1).max(100_000).default(1000).describe('Most spans in one export'),
        spansPerService: z
          .number()
          .int()
          .min(100)
          .max(1_000_000)
          .default(5000)
          .describe('Spans kept in memory per service and environment, by the proxy and from the workload each'),
        exportsPerMinute: z
          .number()
          .int()
          .min(1)
          .max(1_000_000)
          .default(600)
          .describe('Export requests per minute per release (a burst of a tenth of it, at least 10)'),
      })
      .strict()
      .default({ maxBodyKiB: 1024, maxSpansPerRequest: 1000, spansPerService: 5000, exportsPerMinute: 600 }),
    teams: z.array(TeamViewsSchema).default([]).describe('Per-team views; teams without an entry see what they own'),
    dashboards: z
      .array(DashboardSpec)
      .max(500)
      .default([])
      .describe(
        "The platform's own dashboards (panels = PromQL + title + unit); without a team: platform-wide, seen by everyone",
      ),
  })
  .strict();

export type ObservabilityConfig = z.infer<typeof ObservabilitySchema>;
export type TeamViewsConfig = z.infer<typeof TeamViewsSchema>;

export const OBSERVABILITY_DEFAULTS: ObservabilityConfig = ObservabilitySchema.parse({});
