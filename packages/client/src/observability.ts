import type { LogTailEvent, LogsResult } from '@idp/contracts';
import { ApiModule } from './api-module.ts';

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

/** Replica logs: a query (Loki's streams shape) and a follow (server-sent events). */
export class ObservabilityApi extends ApiModule {
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
    const decoder = new TextDecoder();
    let pending = '';
    try {
      for await (const chunk of response.body) {
        pending += decoder.decode(chunk, { stream: true });
        let end = pending.indexOf('\n\n');
        while (end >= 0) {
          const event = pending.slice(0, end);
          pending = pending.slice(end + 2);
          const data = event
            .split('\n')
            .filter((line) => line.startsWith('data:'))
            .map((line) => line.slice(5).trimStart())
            .join('\n');
          if (data !== '') yield JSON.parse(data) as LogTailEvent;
          end = pending.indexOf('\n\n');
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      throw err;
    }
  }
}
