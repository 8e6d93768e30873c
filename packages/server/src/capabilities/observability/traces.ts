// Request traces of a service in an environment: the edge proxy's span of each request (its root,
// unless the caller sent a traceparent) with the spans the workload exported under it. Scoped
// exactly like logs (read-scope.ts): anyone who may not read them gets the same empty answer as
// for a service that does not exist. Everything is stamped with what the platform knows (team,
// service, env, namespace, release), never with what the workload claimed.
import type { TraceResult, TraceSpan, TracesQuery, TracesResult, TraceSummary } from '@idp/contracts';
import { parseDuration } from '@idp/core';
import type { ProxySpan } from '@idp/runtime-local';
import type { RequestContext } from '../../auth/context.ts';
import { readScope, type ReadScopeDeps } from './read-scope.ts';
import type { TraceStore, WorkloadSpan } from './trace-store.ts';

export interface TraceServiceDeps extends ReadScopeDeps {
  /** The edge proxy's request spans of a service in a namespace. */
  proxySpans(service: string, namespace: string): ProxySpan[];
  store: TraceStore;
  /** The replica number (1 for the first) of a release (its key, as the proxy names it) listening on a port, if it still runs. */
  replicaOf(releaseKey: string, port: number): number | undefined;
  now?: () => number;
}

/** `200ms`, `1.5s`, `2m` or `0` in milliseconds. */
export function minDurationMs(text: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)?$/.exec(text);
  if (!match) return 0;
  const value = Number(match[1]);
  return match[2] === 'm' ? value * 60_000 : match[2] === 's' ? value * 1000 : value;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** The proxy names releases by key (`<namespace>/<service>@<version>`); people by version. */
export function versionOf(releaseKey: string): string {
  const at = releaseKey.lastIndexOf('@');
  return at < 0 ? releaseKey : releaseKey.slice(at + 1);
}

function proxyTreeSpan(span: ProxySpan): Omit<TraceSpan, 'depth'> {
  return {
    spanId: span.spanId,
    ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
    name: `${span.method} ${span.path}`,
    kind: 'server',
    source: 'proxy',
    start: iso(span.startMs),
    durationMs: round(span.durationMs),
    status: span.status >= 500 ? 'error' : 'unset',
    release: versionOf(span.release),
    attributes: {
      'http.request.method': span.method,
      'url.path': span.path,
      'http.response.status_code': span.status,
      ...(span.byProxy ? { 'idp.proxy.answered': true } : {}),
    },
  };
}

function workloadTreeSpan(span: WorkloadSpan): Omit<TraceSpan, 'depth'> {
  return {
    spanId: span.spanId,
    ...(span.parentSpanId ? { parentSpanId: span.parentSpanId } : {}),
    name: span.name,
    kind: span.kind,
    source: 'workload',
    start: iso(span.startMs),
    durationMs: round(span.durationMs),
    status: span.status,
    release: span.release,
    attributes: span.attributes,
  };
}

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

export class TraceService {
  constructor(private readonly deps: TraceServiceDeps) {}

  /** The slowest (or most recent) requests over minDuration since `since`; empty when the caller may not read them. */
  async list(ctx: RequestContext, q: TracesQuery): Promise<TracesResult> {
    const scope = await readScope(this.deps, ctx, q);
    const stamp = { team: scope?.team ?? '', service: q.service, env: q.env, namespace: scope?.namespace ?? '' };
    if (!scope) return { stamp, traces: [] };
    const now = this.deps.now?.() ?? Date.now();
    const from = now - parseDuration(q.since, 'since') * 1000;
    const min = minDurationMs(q.minDuration);
    const proxy = this.deps.proxySpans(scope.service, scope.namespace);
    const workload = this.deps.store.spans(scope.namespace, scope.service);
    const counts = new Map<string, number>();
    for (const span of [...proxy, ...workload]) counts.set(span.traceId, (counts.get(span.traceId) ?? 0) + 1);
    const withProxy = new Set(proxy.map((span) => span.traceId));
    const known = new Set(workload.map((span) => span.spanId));
    const candidates: TraceSummary[] = [];
    for (const span of proxy) {
      if (span.startMs < from || span.durationMs < min) continue;
      const replica = span.port === undefined ? undefined : this.deps.replicaOf(span.release, span.port);
      candidates.push({
        traceId: span.traceId,
        spanId: span.spanId,
        start: iso(span.startMs),
        durationMs: round(span.durationMs),
        method: span.method,
        path: span.path,
        status: span.status,
        release: versionOf(span.release),
        ...(replica !== undefined ? { replica: String(replica) } : {}),
        spans: counts.get(span.traceId) ?? 1,
      });
    }
    // Traces the proxy did not see (a workload's own background work): their root spans.
    for (const span of workload) {
      if (withProxy.has(span.traceId) || (span.parentSpanId !== undefined && known.has(span.parentSpanId))) continue;
      if (span.startMs < from || span.durationMs < min) continue;
      const a = span.attributes;
      candidates.push({
        traceId: span.traceId,
        spanId: span.spanId,
        start: iso(span.startMs),
        durationMs: round(span.durationMs),
        method: String(a['http.request.method'] ?? a['http.method'] ?? ''),
        path: String(a['url.path'] ?? a['http.route'] ?? a['http.target'] ?? span.name).split('?', 1)[0]!,
        status: Number(a['http.response.status_code'] ?? a['http.status_code'] ?? 0) || 0,
        release: span.release,
        spans: counts.get(span.traceId) ?? 1,
      });
    }
    candidates.sort((a, b) =>
      q.order === 'recent'
        ? b.start.localeCompare(a.start)
        : b.durationMs - a.durationMs || b.start.localeCompare(a.start),
    );
    return { stamp, traces: candidates.slice(0, q.limit) };
  }

  /** The spans of one trace as a tree (depth-first); empty when the caller may not read them or none is known. */
  async get(ctx: RequestContext, traceId: string, q: { service: string; env: string }): Promise<TraceResult> {
    const scope = await readScope(this.deps, ctx, q);
    const stamp = { team: scope?.team ?? '', service: q.service, env: q.env, namespace: scope?.namespace ?? '' };
    if (!scope) return { stamp, traceId, spans: [] };
    const spans = [
      ...this.deps
        .proxySpans(scope.service, scope.namespace)
        .filter((s) => s.traceId === traceId)
        .map(proxyTreeSpan),
      ...this.deps.store
        .spans(scope.namespace, scope.service)
        .filter((s) => s.traceId === traceId)
        .map(workloadTreeSpan),
    ];
    return { stamp, traceId, spans: asTree(spans) };
  }
}

/** Depth-first: roots (no parent, or a parent not known here) by start, each followed by its children by start. */
export function asTree(spans: Array<Omit<TraceSpan, 'depth'>>): TraceSpan[] {
  const byId = new Map<string, Omit<TraceSpan, 'depth'>>();
  for (const span of spans) if (!byId.has(span.spanId)) byId.set(span.spanId, span);
  const children = new Map<string, Array<Omit<TraceSpan, 'depth'>>>();
  const roots: Array<Omit<TraceSpan, 'depth'>> = [];
  for (const span of byId.values()) {
    const parent = span.parentSpanId;
    if (parent !== undefined && parent !== span.spanId && byId.has(parent)) {
      const list = children.get(parent) ?? [];
      list.push(span);
      children.set(parent, list);
    } else {
      roots.push(span);
    }
  }
  const byStart = (a: { start: string }, b: { start: string }) => a.start.localeCompare(b.start);
  const out: TraceSpan[] = [];
  const seen = new Set<string>();
  // Iterative, so a long chain cannot exhaust the stack; `seen` ends a cycle of parents, and a
  // span only a cycle leads to is shown as a root of its own rather than lost.
  const walk = (root: Omit<TraceSpan, 'depth'>) => {
    const stack = [{ span: root, depth: 0 }];
    while (stack.length > 0) {
      const { span, depth } = stack.pop()!;
      if (seen.has(span.spanId)) continue;
      seen.add(span.spanId);
      out.push({ ...span, depth });
      const kids = (children.get(span.spanId) ?? []).sort(byStart).reverse();
      for (const kid of kids) stack.push({ span: kid, depth: depth + 1 });
    }
  };
  for (const root of roots.sort(byStart)) walk(root);
  for (const span of [...byId.values()].sort(byStart)) if (!seen.has(span.spanId)) walk(span);
  return out;
}
