import {
  IdpError,
  isErrorCode,
  isRecord,
  type DashboardData,
  type DashboardList,
  type ErrorCode,
  type LogTailEvent,
  type LogsResult,
  type TraceResult,
  type TracesResult,
} from '@idp/contracts';
import { ApiModule } from './api-module.ts';
import { readServerSentEvents } from './sse.ts';
import { idUrl, type RawResponse } from './transport.ts';

/** What to read of a service's replica logs (GET /api/observability/logs). */
export interface LogsFilter {
  service: string;
  env: string;
  /** e.g. 10m: only lines written since. */
  since?: string;
  /** Only lines containing this text. */
  grep?: string;
  /** Only this replica (1 is the first). */
  replica?: number;
  /** Only this release version. */
  release?: string;
  /** Most lines (the newest), default 1000, at most 5000. */
  limit?: number;
  direction?: 'backward' | 'forward';
}

/** Which requests of a service to list (GET /api/observability/traces). */
export interface TracesFilter {
  service: string;
  env: string;
  /** e.g. 1h (the default): requests that started since. */
  since?: string;
  /** e.g. 200ms: requests that took at least this long. */
  minDuration?: string;
  /** slowest (the default) or recent. */
  order?: 'slowest' | 'recent';
  /** Most traces, default 50, at most 500. */
  limit?: number;
}

/** One series of an instant vector: its labels and `[unix seconds, value as text]`. */
export interface PromInstantSeries {
  metric: Record<string, string>;
  value: [number, string];
}

/** One series of a range query: its labels and `[unix seconds, value as text]` at each step that had a sample. */
export interface PromRangeSeries {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

/** Prometheus's `data` of a query or query_range answer, as it gives it. */
export type PromQueryData =
  | { resultType: 'vector'; result: PromInstantSeries[] }
  | { resultType: 'matrix'; result: PromRangeSeries[] }
  | { resultType: 'scalar'; result: [number, string] }
  | { resultType: 'string'; result: [number, string] };

/** When an instant query is evaluated: Unix seconds or RFC 3339; default now. */
export interface InstantOptions {
  time?: string | number;
}

/** A range query's bounds (Unix seconds or RFC 3339) and step (seconds, or a duration such as 30s). */
export interface RangeOptions {
  start: string | number;
  end: string | number;
  step: string | number;
}

/** Which data a dashboard is shown with: the environment `$env` stands for, how far back, how many points. */
export interface DashboardOptions {
  env: string;
  /** e.g. 1h (the server's default). */
  since?: string;
  /** Points per series, 2..500 (the server's default: 60). */
  points?: number;
}

/**
 * Observability: replica logs (Loki's streams shape, and a follow over server-sent events),
 * PromQL through the query gate (Prometheus's `data`) and dashboards.
 */
export class ObservabilityApi extends ApiModule {
  /** An instant PromQL query over what the caller may read; Prometheus's `data` (vector, scalar …). */
  async query(promql: string, opts: InstantOptions = {}): Promise<PromQueryData> {
    const form: Record<string, string> = { query: promql };
    if (opts.time !== undefined) form.time = String(opts.time);
    return this.prometheus('/api/observability/query', form);
  }

  /** A range PromQL query over what the caller may read; Prometheus's `data` (a matrix). */
  async queryRange(promql: string, opts: RangeOptions): Promise<PromQueryData> {
    const form = { query: promql, start: String(opts.start), end: String(opts.end), step: String(opts.step) };
    return this.prometheus('/api/observability/query_range', form);
  }

  /** The dashboards the caller sees: generated, from the config and from service repositories. */
  dashboards(): Promise<DashboardList> {
    return this.http.request('GET', '/api/observability/dashboards');
  }

  /** One dashboard's panels with their series over the last `since`, each panel queried as the caller. */
  dashboard(name: string, opts: DashboardOptions): Promise<DashboardData> {
    const path = idUrl(
      '/api/observability/dashboards',
      name,
      () => new IdpError('USAGE', `"${name}" is not a dashboard name`, { field: 'name' }),
    );
    return this.http.request('GET', path, { query: { env: opts.env, since: opts.since, points: opts.points } });
  }

  /**
   * A query endpoint, by a form POST (long queries stay out of URLs and logs). The gate answers in
   * Prometheus's shape, its own refusals with idp's `code` and `hint`; both become an IdpError.
   */
  private async prometheus(path: string, form: Record<string, string>): Promise<PromQueryData> {
    const res = await this.http.send('POST', path, {
      rawBody: {
        data: new TextEncoder().encode(new URLSearchParams(form).toString()),
        contentType: 'application/x-www-form-urlencoded',
      },
    });
    const body = res.body;
    if (isRecord(body) && body.status === 'success' && res.status >= 200 && res.status < 300) {
      return body.data as PromQueryData;
    }
    if (isRecord(body) && body.status === 'error') throw prometheusError(res, body);
    // A refused token (idp's envelope) or something that is not the gate at all.
    return this.http.unwrap<never>('POST', path, res);
  }

  /** A service's slowest (or most recent) requests with their trace ids; empty when the caller may not read them. */
  traces(filter: TracesFilter): Promise<TracesResult> {
    return this.http.request('GET', '/api/observability/traces', { query: { ...filter } });
  }

  /** The spans of one trace as a tree (depth-first); empty when the caller may not read them or none is known. */
  trace(traceId: string, where: { service: string; env: string }): Promise<TraceResult> {
    const path = idUrl(
      '/api/observability/traces',
      traceId,
      () => new IdpError('USAGE', `"${traceId}" is not a trace id (32 hex digits)`, { field: 'trace' }),
    );
    return this.http.request('GET', path, { query: { service: where.service, env: where.env } });
  }

  /** The newest lines of a service in an environment; empty when the caller may not read them. */
  logs(filter: LogsFilter): Promise<LogsResult> {
    return this.http.request('GET', '/api/observability/logs', { query: { ...filter } });
  }

  /**
   * The newest `limit` lines, then each new line as it is written, one event per line (Loki's
   * tail shape), until `signal` aborts (then the iteration ends quietly).
   */
  async *followLogs(filter: LogsFilter, signal: AbortSignal): AsyncGenerator<LogTailEvent> {
    const response = await this.http.stream('/api/observability/logs', { ...filter, follow: true }, signal);
    if (!response.body) return;
    for await (const event of readServerSentEvents(response.body, signal)) {
      yield JSON.parse(event.data) as LogTailEvent;
    }
  }
}

/**
 * Prometheus's `{status: 'error', errorType, error}` as an IdpError: the gate's own code when it
 * gave one, else one for the error type (Prometheus's own bad_data or execution error: the query
 * is wrong; a timeout: it asks for too much).
 */
function prometheusError(res: RawResponse, body: Record<string, unknown>): IdpError {
  const message = typeof body.error === 'string' && body.error !== '' ? body.error : `HTTP ${res.status}`;
  const errorType = typeof body.errorType === 'string' ? body.errorType : undefined;
  const details = {
    status: res.status,
    ...(errorType ? { errorType } : {}),
    ...(typeof body.hint === 'string'
      ? { hint: body.hint }
      : errorType === 'execution'
        ? { hint: EXECUTION_HINT }
        : {}),
    ...(res.requestId ? { requestId: res.requestId } : {}),
  };
  return new IdpError(codeFor(body.code, errorType, res.status), message, details);
}

/** Prometheus parsed the query but could not evaluate it: there is no position to fix. */
const EXECUTION_HINT =
  'Prometheus could not evaluate the query as written: change it as the message says (run its parts alone to see their series).';

function codeFor(code: unknown, errorType: string | undefined, status: number): ErrorCode {
  if (isErrorCode(code)) return code;
  if (errorType === 'timeout' || errorType === 'too_many_samples') return 'OBSERVABILITY_QUERY_TOO_LARGE';
  if (errorType === 'unavailable' || status >= 500) return 'OBSERVABILITY_UNAVAILABLE';
  if (errorType === 'bad_data' || errorType === 'execution' || status === 400 || status === 422) {
    return 'OBSERVABILITY_QUERY_INVALID';
  }
  return 'INTERNAL';
}
