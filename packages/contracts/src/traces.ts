import { z } from 'zod';

// Request traces: the edge proxy's server span of every request (no instrumentation needed) and
// the spans workloads export over OTLP/HTTP, stamped with the team, service, environment,
// namespace and release the platform knows them by. Kept in memory, per service and namespace.

export const TRACES_LIMIT_DEFAULT = 50;
export const TRACES_LIMIT_MAX = 500;

const DURATION = /^[1-9][0-9]{0,8}(s|m|h|d)$/;
/** 250ms, 1s, 1.5s, 2m: how long a request took at least. */
const MIN_DURATION = /^(0|[0-9]{1,9}(\.[0-9]{1,3})?(ms|s|m))$/;

export const TracesQuery = z
  .object({
    service: z.string().min(1).max(200).describe('The service (a catalog Component), e.g. payments-api'),
    env: z.string().min(1).max(200).describe('The environment, e.g. staging'),
    since: z
      .string()
      .regex(DURATION, 'a duration such as 30s, 10m, 2h or 7d')
      .default('1h')
      .describe('Only requests that started this long ago or later, e.g. 1h'),
    minDuration: z
      .string()
      .regex(MIN_DURATION, 'a duration such as 200ms, 1.5s or 1m')
      .default('0')
      .describe('Only requests that took at least this long, e.g. 200ms'),
    order: z
      .enum(['slowest', 'recent'])
      .default('slowest')
      .describe('slowest: the longest requests first; recent: the newest first'),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(TRACES_LIMIT_MAX)
      .default(TRACES_LIMIT_DEFAULT)
      .describe(`Most traces returned, at most ${TRACES_LIMIT_MAX}`),
  })
  .strict();
export type TracesQuery = z.infer<typeof TracesQuery>;

export const TraceStamp = z
  .object({
    team: z.string().describe('The owning team of the service'),
    service: z.string(),
    env: z.string(),
    namespace: z.string().describe('The runtime namespace of the environment'),
    release: z.string().describe('The release version that served (or exported) it'),
  })
  .describe('Who a span belongs to, as the platform knows it (never what the workload claimed)');
export type TraceStamp = z.infer<typeof TraceStamp>;

export const TraceSummary = z.object({
  traceId: z.string().describe('32 hex digits'),
  spanId: z.string().describe("The root span's id, 16 hex digits"),
  start: z.string().describe('When the request started, RFC 3339'),
  durationMs: z.number(),
  method: z.string(),
  path: z.string().describe('Without the query string'),
  status: z.number().int().describe('The HTTP status the client got'),
  release: z.string(),
  replica: z.string().optional().describe('The replica that answered, 1 for the first'),
  spans: z.number().int().describe('Spans known of this trace (the proxy’s and the workload’s)'),
});
export type TraceSummary = z.infer<typeof TraceSummary>;

export const TracesResult = z.object({
  stamp: TraceStamp.omit({ release: true }),
  traces: z.array(TraceSummary),
});
export type TracesResult = z.infer<typeof TracesResult>;

export const TraceParams = z.object({ traceId: z.string().regex(/^[0-9a-f]{32}$/, '32 lower-case hex digits') });
export const TraceQuery = TracesQuery.pick({ service: true, env: true }).strict();
export type TraceQuery = z.infer<typeof TraceQuery>;

export const AttributeValue = z.union([z.string(), z.number(), z.boolean()]);

export const TraceSpan = z.object({
  spanId: z.string(),
  parentSpanId: z.string().optional(),
  depth: z.number().int().describe('0 for a root, 1 for its children …'),
  name: z.string(),
  kind: z.enum(['server', 'client', 'internal', 'producer', 'consumer', 'unspecified']),
  source: z.enum(['proxy', 'workload']).describe('proxy: the edge proxy recorded it; workload: exported over OTLP'),
  start: z.string().describe('RFC 3339'),
  durationMs: z.number(),
  status: z.enum(['ok', 'error', 'unset']),
  release: z.string(),
  attributes: z.record(z.string(), AttributeValue),
});
export type TraceSpan = z.infer<typeof TraceSpan>;

export const TraceResult = z.object({
  stamp: TraceStamp.omit({ release: true }),
  traceId: z.string(),
  spans: z
    .array(TraceSpan)
    .describe(
      'The spans as a tree in depth-first order: each root (a span whose parent is not known here), then its children by start time, each followed by its own',
    ),
});
export type TraceResult = z.infer<typeof TraceResult>;
