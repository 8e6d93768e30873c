import { describe, expect, it } from 'vitest';
import { TracesQuery } from '@idp/contracts';
import type { ProxySpan } from '@idp/runtime-local';
import type { RequestContext } from '../../auth/context.ts';
import { TraceStore } from './trace-store.ts';
import { asTree, minDurationMs, TraceService } from './traces.ts';

// The query side on real stores. Who may read is the deploy:read filter given as a dependency
// (the policy itself runs end to end in test/e2e/observability-traces.test.ts).

const NOW = Date.parse('2026-12-01T12:00:00.000Z');
const ctx = (ref: string) => ({ principal: { ref, roles: [], teams: [] } }) as unknown as RequestContext;
const TRACE_A = 'a'.repeat(32);
const TRACE_B = 'b'.repeat(32);

const proxySpan = (over: Partial<ProxySpan>): ProxySpan => ({
  traceId: TRACE_A,
  spanId: '1000000000000001',
  parentSpanId: undefined,
  method: 'GET',
  path: '/pay',
  status: 200,
  startMs: NOW - 60_000,
  durationMs: 300,
  release: 'payments-staging/payments-api@v1',
  port: 4001,
  byProxy: false,
  ...over,
});

function service() {
  const store = new TraceStore(100);
  const proxy = [
    proxySpan({}),
    proxySpan({ traceId: TRACE_B, spanId: '2000000000000001', durationMs: 20, path: '/fast' }),
    proxySpan({ traceId: 'c'.repeat(32), spanId: '3000000000000001', startMs: NOW - 7_200_000, durationMs: 900 }),
  ];
  store.add('payments-staging', 'payments-api', 'v1', [
    {
      traceId: TRACE_A,
      spanId: '1000000000000002',
      parentSpanId: '1000000000000001',
      name: 'charge card',
      kind: 'internal',
      startMs: NOW - 59_950,
      durationMs: 200,
      status: 'ok',
      attributes: {},
    },
    {
      traceId: TRACE_A,
      spanId: '1000000000000003',
      parentSpanId: '1000000000000002',
      name: 'SELECT',
      kind: 'client',
      startMs: NOW - 59_940,
      durationMs: 50,
      status: 'unset',
      attributes: { 'db.system': 'postgresql' },
    },
  ]);
  return new TraceService({
    readable: (ref) => Promise.resolve((row) => Promise.resolve(ref === 'alice' && row.service === 'payments-api')),
    teamOf: (s) => Promise.resolve(s === 'payments-api' ? 'payments' : null),
    namespaceOf: (env) => Promise.resolve(env === 'staging' ? 'payments-staging' : undefined),
    proxySpans: (s, ns) => (s === 'payments-api' && ns === 'payments-staging' ? proxy : []),
    replicaOf: (key, port) => (key === 'payments-staging/payments-api@v1' && port === 4001 ? 1 : undefined),
    store,
    now: () => NOW,
  });
}

const q = (extra: Record<string, string> = {}) =>
  TracesQuery.parse({ service: 'payments-api', env: 'staging', ...extra });

describe('traces query', () => {
  it('lists the slowest requests in the window, stamped, with span counts and replicas', async () => {
    const result = await service().list(ctx('alice'), q());
    expect(result.stamp).toEqual({
      team: 'payments',
      service: 'payments-api',
      env: 'staging',
      namespace: 'payments-staging',
    });
    expect(result.traces.map((t) => [t.path, t.durationMs, t.spans, t.replica])).toEqual([
      ['/pay', 300, 3, '1'],
      ['/fast', 20, 1, '1'],
    ]);
    const slow = await service().list(ctx('alice'), q({ minDuration: '200ms' }));
    expect(slow.traces.map((t) => t.traceId)).toEqual([TRACE_A]);
    const all = await service().list(ctx('alice'), q({ since: '3h', order: 'recent', limit: '2' }));
    expect(all.traces.map((t) => t.path)).toEqual(['/pay', '/fast']);
  });

  it('gives the same empty answer to someone who may not read, and for unknown services and environments', async () => {
    const svc = service();
    const denied = await svc.list(ctx('dave'), q());
    const unknown = await svc.list(ctx('alice'), q({ service: 'nope' }));
    expect(denied.traces).toEqual([]);
    expect(unknown.traces).toEqual([]);
    expect(denied.stamp).toEqual({ team: '', service: 'payments-api', env: 'staging', namespace: '' });
    expect((await svc.list(ctx('alice'), q({ env: 'qa' }))).traces).toEqual([]);
    expect((await svc.get(ctx('dave'), TRACE_A, { service: 'payments-api', env: 'staging' })).spans).toEqual([]);
  });

  it("gives a trace as a tree: the proxy's span, the workload's spans under it by depth", async () => {
    const trace = await service().get(ctx('alice'), TRACE_A, { service: 'payments-api', env: 'staging' });
    expect(trace.spans.map((s) => [s.depth, s.name, s.source])).toEqual([
      [0, 'GET /pay', 'proxy'],
      [1, 'charge card', 'workload'],
      [2, 'SELECT', 'workload'],
    ]);
    expect(trace.spans.map((s) => s.release)).toEqual(['v1', 'v1', 'v1']);
    expect(trace.spans[0]!.attributes).toMatchObject({ 'http.response.status_code': 200, 'url.path': '/pay' });
  });

  it('builds trees of orphans, siblings by start and cycles without looping', () => {
    const base = {
      kind: 'internal',
      source: 'workload',
      durationMs: 1,
      status: 'unset',
      release: 'v1',
      attributes: {},
    } as const;
    const tree = asTree([
      { ...base, spanId: 'b', parentSpanId: 'a', name: 'late child', start: '2026-01-01T00:00:02.000Z' },
      { ...base, spanId: 'a', name: 'root', start: '2026-01-01T00:00:00.000Z' },
      { ...base, spanId: 'c', parentSpanId: 'a', name: 'early child', start: '2026-01-01T00:00:01.000Z' },
      { ...base, spanId: 'd', parentSpanId: 'gone', name: 'orphan', start: '2026-01-01T00:00:03.000Z' },
      { ...base, spanId: 'x', parentSpanId: 'y', name: 'cycle x', start: '2026-01-01T00:00:04.000Z' },
      { ...base, spanId: 'y', parentSpanId: 'x', name: 'cycle y', start: '2026-01-01T00:00:05.000Z' },
    ]);
    expect(tree.map((s) => `${s.depth}:${s.name}`)).toEqual([
      '0:root',
      '1:early child',
      '1:late child',
      '0:orphan',
      '0:cycle x',
      '1:cycle y',
    ]);
  });

  it('reads minimum durations', () => {
    expect(minDurationMs('0')).toBe(0);
    expect(minDurationMs('250ms')).toBe(250);
    expect(minDurationMs('1.5s')).toBe(1500);
    expect(minDurationMs('2m')).toBe(120_000);
  });
});
