import { z } from 'zod';

// Replica logs, in Loki's query_range response shape for streams, so Grafana-style tooling and
// the CLI read the same object.

export const LOG_LIMIT_DEFAULT = 1000;
export const LOG_LIMIT_MAX = 5000;

/** The levels a structured (JSON) line may add to its stream's labels: a bounded set, never the message. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const LogsQuery = z
  .object({
    service: z.string().min(1).max(200).describe('The service (a catalog Component), e.g. payments-api'),
    env: z.string().min(1).max(200).describe('The environment, e.g. staging'),
    since: z
      .string()
      .regex(/^[1-9][0-9]{0,8}(s|m|h|d)$/, 'a duration such as 30s, 10m, 2h or 7d')
      .optional()
      .describe('Only lines written this long ago or later, e.g. 10m'),
    grep: z.string().min(1).max(500).optional().describe('Only lines containing this text (case-sensitive)'),
    replica: z.coerce.number().int().min(1).max(1000).optional().describe('Only this replica (1 is the first)'),
    release: z.string().min(1).max(200).optional().describe('Only this release version'),
    limit: z.coerce
      .number()
      .int()
      .min(1)
      .max(LOG_LIMIT_MAX)
      .default(LOG_LIMIT_DEFAULT)
      .describe(`Most lines returned (the newest ones), at most ${LOG_LIMIT_MAX}`),
    direction: z
      .enum(['backward', 'forward'])
      .default('backward')
      .describe('Order of the values in each stream: newest first (backward, Loki’s default) or oldest first'),
    follow: z
      .enum(['true', 'false'])
      .default('false')
      .describe('true: answer with server-sent events (text/event-stream), the recent lines then new ones as written'),
  })
  .strict();
export type LogsQuery = z.infer<typeof LogsQuery>;

export const LogStreamLabels = z
  .object({
    team: z.string().describe('The owning team of the service'),
    service: z.string(),
    env: z.string(),
    namespace: z.string().describe('The runtime namespace of the environment'),
    release: z.string().describe('The release version the replica ran'),
    replica: z.string().describe('The replica number, 1 for the first'),
    level: z.enum(LOG_LEVELS).optional().describe('The level of structured (JSON) lines that name one'),
  })
  .describe('The labels of one stream: one replica of one release (and level, for JSON lines)');
export type LogStreamLabels = z.infer<typeof LogStreamLabels>;

/** `[<nanoseconds since the epoch, as a string>, <the line as written>]`. */
export const LogValue = z.tuple([z.string(), z.string()]);

export const LogStream = z.object({
  stream: LogStreamLabels,
  values: z.array(LogValue).describe('[time in ns as a string, the line as written]'),
});
export type LogStream = z.infer<typeof LogStream>;

export const LogsResult = z
  .object({
    status: z.literal('success'),
    data: z.object({
      resultType: z.literal('streams'),
      result: z.array(LogStream),
    }),
  })
  .describe('Loki’s query_range answer for log streams');
export type LogsResult = z.infer<typeof LogsResult>;

/** One event of a follow (`follow=true`): Loki's tail shape, one line per event. */
export const LogTailEvent = z.object({ streams: z.array(LogStream) });
export type LogTailEvent = z.infer<typeof LogTailEvent>;
