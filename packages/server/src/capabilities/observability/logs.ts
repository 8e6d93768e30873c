// Replica logs for the people who may read the service's deployments in that environment
// (deploy:read, the same decision as `idp deploy:status`) and for the members of a team whose
// configured view selects them (observability.teams: namespace|service|env = glob; the decision
// is read-scope.ts's, shared with traces), in Loki's streams shape. Anyone else
// gets an empty answer, exactly as for a service that never logged: the answer never confirms
// that a service or an environment exists. Lines are read newest first from the files the
// runtime writes (<namespace dir>/logs/<service>/<release>/replica-N.log and its rotated
// copies), merged across replicas by time, and stop at `limit` or `since`.
import { join } from 'node:path';
import {
  LOG_LEVELS,
  type LogLevel,
  type LogStream,
  type LogStreamLabels,
  type LogTailEvent,
  type LogsQuery,
  type LogsResult,
} from '@idp/contracts';
import { parseDuration } from '@idp/core';
import type { RequestContext } from '../../auth/context.ts';
import { followLogs, replicaLogs, type ReplicaLog } from './log-follow.ts';
import { replicaLinesBackward, type LogLine } from './log-reader.ts';
import { readScope, SAFE_NAME, type ReadScopeDeps } from './read-scope.ts';

/** Who may read (read-scope.ts), and where the runtime writes the logs. */
export interface LogServiceDeps extends ReadScopeDeps {
  namespaceDir(namespace: string): string;
  now?: () => number;
  /** The follow poll fallback; default 250 ms. */
  followPollMs?: number;
}

interface Scope {
  serviceDir: string;
  base: Omit<LogStreamLabels, 'release' | 'replica' | 'level'>;
}

const EMPTY = (): LogsResult => ({ status: 'success', data: { resultType: 'streams', result: [] } });

export class LogService {
  private readonly stops = new Set<() => void>();

  constructor(private readonly deps: LogServiceDeps) {}

  /** The lines of a service in an environment, newest `limit` of them; empty when the caller may not read them. */
  async query(ctx: RequestContext, q: LogsQuery): Promise<LogsResult> {
    const scope = await this.scope(ctx, q);
    if (!scope) return EMPTY();
    const now = this.deps.now?.() ?? Date.now();
    const sinceNs = q.since === undefined ? null : BigInt(now - parseDuration(q.since, 'since') * 1000) * 1_000_000n;
    const logs = (await replicaLogs(scope.serviceDir)).filter((log) => selected(q, log));
    const heads = await Promise.all(
      logs.map(async (log) => {
        const lines = matching(replicaLinesBackward(log.file), q.grep, sinceNs);
        return { log, lines, next: await lines.next() };
      }),
    );
    const picked: Array<{ log: ReplicaLog; line: LogLine }> = [];
    try {
      while (picked.length < q.limit) {
        let newest: (typeof heads)[number] | undefined;
        for (const head of heads) {
          if (head.next.done) continue;
          if (!newest || head.next.value.ns > (newest.next.value as LogLine).ns) newest = head;
        }
        if (!newest || newest.next.done) break;
        picked.push({ log: newest.log, line: newest.next.value });
        newest.next = await newest.lines.next();
      }
    } finally {
      await Promise.all(heads.map((head) => head.lines.return(undefined)));
    }
    if (q.direction === 'forward') picked.reverse();
    return { status: 'success', data: { resultType: 'streams', result: toStreams(scope, picked) } };
  }

  /**
   * Follows the service's logs: sends the newest `limit` lines (oldest first), then every new
   * line as written, one event each, until the returned stop is called. A caller who may not
   * read them gets nothing, and nothing is watched.
   */
  async follow(ctx: RequestContext, q: LogsQuery, send: (event: LogTailEvent) => void): Promise<() => void> {
    const scope = await this.scope(ctx, q);
    if (!scope) return () => {};
    let backlog: LogTailEvent[] | null = [];
    const follower = followLogs({
      serviceDir: scope.serviceDir,
      select: (log) => selected(q, log),
      pollMs: this.deps.followPollMs,
      onLine: (log, line) => {
        if (q.grep !== undefined && !line.text.includes(q.grep)) return;
        const event = { streams: toStreams(scope, [{ log, line }]) };
        if (backlog) backlog.push(event);
        else send(event);
      },
    });
    const stop = () => {
      follower.stop();
      this.stops.delete(stop);
    };
    this.stops.add(stop);
    await follower.ready;
    const history = await this.query(ctx, { ...q, direction: 'forward' });
    const lines = history.data.result
      .flatMap((stream) => stream.values.map((value) => ({ stream: stream.stream, value })))
      .sort((a, b) => compareNs(a.value[0], b.value[0]));
    for (const { stream, value } of lines) send({ streams: [{ stream, values: [value] }] });
    for (const event of backlog) send(event);
    backlog = null;
    return stop;
  }

  /** Followers running now. */
  followers(): number {
    return this.stops.size;
  }

  /** Stops every follower (server shutdown). */
  stop(): void {
    for (const stop of [...this.stops]) stop();
  }

  private async scope(ctx: RequestContext, q: LogsQuery): Promise<Scope | undefined> {
    if (q.release !== undefined && !SAFE_NAME.test(q.release)) return undefined;
    const scope = await readScope(this.deps, ctx, q);
    if (!scope) return undefined;
    const { team, service, env, namespace } = scope;
    return {
      serviceDir: join(this.deps.namespaceDir(namespace), 'logs', service),
      base: { team, service, env, namespace },
    };
  }
}

function selected(q: LogsQuery, log: ReplicaLog): boolean {
  return (
    (q.release === undefined || log.release === q.release) && (q.replica === undefined || log.replica === q.replica)
  );
}

async function* matching(
  lines: AsyncGenerator<LogLine>,
  grep: string | undefined,
  sinceNs: bigint | null,
): AsyncGenerator<LogLine> {
  for await (const line of lines) {
    if (sinceNs !== null && line.ns < sinceNs) return;
    if (grep === undefined || line.text.includes(grep)) yield line;
  }
}

function compareNs(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

const PINO_LEVELS: Record<number, LogLevel> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};
const LEVEL_ALIASES: Record<string, LogLevel> = { warning: 'warn', err: 'error', critical: 'fatal', panic: 'fatal' };

/** The level a JSON line names (level, lvl or severity; pino's numbers too), from the bounded set; else undefined. */
export function levelOf(text: string): LogLevel | undefined {
  if (!text.startsWith('{')) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const record = parsed as Record<string, unknown>;
  const raw = record.level ?? record.lvl ?? record.severity;
  if (typeof raw === 'number') return PINO_LEVELS[raw];
  if (typeof raw !== 'string') return undefined;
  const name = raw.toLowerCase();
  return (LOG_LEVELS as readonly string[]).includes(name) ? (name as LogLevel) : LEVEL_ALIASES[name];
}

/** Lines grouped into streams by replica (and level, for JSON lines that name one), in the order given. */
function toStreams(scope: Scope, lines: Array<{ log: ReplicaLog; line: LogLine }>): LogStream[] {
  const streams = new Map<string, LogStream>();
  for (const { log, line } of lines) {
    const level = levelOf(line.text);
    const key = `${log.release}\n${log.replica}\n${level ?? ''}`;
    let stream = streams.get(key);
    if (!stream) {
      stream = {
        stream: { ...scope.base, release: log.release, replica: String(log.replica), ...(level ? { level } : {}) },
        values: [],
      };
      streams.set(key, stream);
    }
    stream.values.push([line.ns.toString(), line.text]);
  }
  return [...streams.values()];
}
