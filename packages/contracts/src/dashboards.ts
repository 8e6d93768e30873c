import { z } from 'zod';

// Dashboards as code: panels of PromQL with a title and a unit. Golden-signal dashboards are
// generated for every service; teams add their own as YAML (in a service's repository under
// .idp/dashboards/, or in the platform config under observability.dashboards). Every panel's
// query runs through the query gate as the caller, so a dashboard never shows more than its
// viewer may query.

/** How a panel's values are shown: `ratio` is 0..1 shown as a percentage, `percent` is 0..100. */
export const DASHBOARD_UNITS = ['req/s', 'ratio', 'percent', 'seconds', 'bytes', 'count', 'cores', 'none'] as const;
export type DashboardUnit = (typeof DASHBOARD_UNITS)[number];

/** Variables a panel's query may use; each is replaced by a quoted-safe name before the query is parsed. */
export const DASHBOARD_VARIABLES = ['$env', '$service', '$team'] as const;

export const DASHBOARD_NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

export const DashboardPanelSpec = z
  .object({
    title: z.string().min(1).max(120).describe('What the panel shows, e.g. Requests per second'),
    query: z
      .string()
      .min(1)
      .max(4096)
      .describe('PromQL; may use $env, $service and $team, e.g. sum(rate(idp_proxy_requests_total{env="$env"}[1m]))'),
    unit: z.enum(DASHBOARD_UNITS).default('none').describe('How values are shown'),
    legend: z
      .string()
      .max(200)
      .optional()
      .describe('A series name from its labels, e.g. {{service}} {{code}}; default: the labels'),
  })
  .strict();
export type DashboardPanelSpec = z.infer<typeof DashboardPanelSpec>;

export const DashboardSpec = z
  .object({
    name: z
      .string()
      .max(63)
      .regex(DASHBOARD_NAME, 'a DNS-1123 label such as payments-overview')
      .describe('Unique name; views select dashboards by name glob'),
    title: z.string().min(1).max(120).optional().describe('Shown above the panels; default: the name'),
    description: z.string().max(1000).optional(),
    team: z
      .string()
      .max(63)
      .regex(DASHBOARD_NAME, 'a Group name')
      .optional()
      .describe("The owning team (config dashboards); a repository's dashboards belong to its service's owner"),
    service: z
      .string()
      .max(200)
      .optional()
      .describe('The service $service stands for; a repository dashboard gets its own service'),
    panels: z.array(DashboardPanelSpec).min(1).max(24),
  })
  .strict();
export type DashboardSpec = z.infer<typeof DashboardSpec>;

export const DASHBOARD_SOURCES = ['generated', 'config', 'repository'] as const;
export type DashboardSource = (typeof DASHBOARD_SOURCES)[number];

export const DashboardSummary = z.object({
  name: z.string(),
  title: z.string(),
  team: z.string().describe('The owning team ("" for platform-wide dashboards)'),
  source: z.enum(DASHBOARD_SOURCES),
  service: z.string().optional().describe('The service the dashboard is about, when it is about one'),
  panels: z.number().int().describe('How many panels it has'),
});
export type DashboardSummary = z.infer<typeof DashboardSummary>;

/** A dashboard definition that was refused when it was loaded (and is not served), with its position. */
export const DashboardProblemReport = z.object({
  code: z.string().describe('OBSERVABILITY_DASHBOARD_INVALID'),
  source: z.enum(DASHBOARD_SOURCES),
  team: z.string().describe('The team whose dashboard it would have been ("" for platform-wide)'),
  service: z.string().optional().describe("The repository's service"),
  release: z.string().optional().describe('The release the file was read from'),
  file: z.string().describe('e.g. .idp/dashboards/latency.yaml, or observability.dashboards[2] of the config'),
  line: z.number().int(),
  column: z.number().int(),
  field: z.string(),
  message: z.string(),
  hint: z.string().optional(),
  didYouMean: z.string().optional(),
});
export type DashboardProblemReport = z.infer<typeof DashboardProblemReport>;

export const DashboardList = z.object({
  items: z.array(DashboardSummary),
  problems: z
    .array(DashboardProblemReport)
    .optional()
    .describe("Refused dashboard definitions of the caller's teams (and every one, for admins)"),
});
export type DashboardList = z.infer<typeof DashboardList>;

export const DashboardQuery = z
  .object({
    env: z.string().min(1).max(200).describe('The environment $env stands for, e.g. staging'),
    since: z
      .string()
      .regex(/^[1-9][0-9]{0,6}(m|h|d)$/, 'a duration such as 15m, 1h or 2d')
      .default('1h')
      .describe('How far back the panels go'),
    points: z.coerce.number().int().min(2).max(500).default(60).describe('Points per series (sets the step)'),
  })
  .strict();
export type DashboardQuery = z.infer<typeof DashboardQuery>;

export const PanelSeries = z.object({
  labels: z.record(z.string(), z.string()),
  name: z.string().describe('The legend applied to the labels'),
  points: z
    .array(z.tuple([z.number(), z.number().nullable()]))
    .describe('[unix seconds, value] at each step; null where Prometheus had no sample'),
  last: z.number().nullable().describe('The most recent value'),
});
export type PanelSeries = z.infer<typeof PanelSeries>;

export const PanelData = z.object({
  title: z.string(),
  unit: z.enum(DASHBOARD_UNITS),
  query: z.string().describe('The query as run, variables replaced (before the gate adds the caller’s scope)'),
  series: z.array(PanelSeries),
  error: z
    .object({ code: z.string(), message: z.string() })
    .optional()
    .describe('Why this panel has no data (the others still do)'),
  truncated: z.boolean().optional().describe('More series matched than a panel shows (the first ones are kept)'),
});
export type PanelData = z.infer<typeof PanelData>;

export const DashboardData = DashboardSummary.extend({
  env: z.string(),
  start: z.number().describe('Unix seconds'),
  end: z.number().describe('Unix seconds'),
  step: z.number().describe('Seconds between points'),
  panels: z.array(PanelData),
});
export type DashboardData = z.infer<typeof DashboardData>;
