import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeProxy } from './proxy.ts';
import { MAX_SPAN_PATH, newIds, newSpanId, newTraceId, parseTraceparent, ProxySpanRing, SpanRing } from './spans.ts';
import { httpRequest, waitFor } from './test-helpers.ts';

describe('SpanRing', () => {
  it('keeps at most its capacity, the oldest dropped first, and copies out oldest first', () => {
    const ring = new SpanRing<number>(3);
    expect(ring.toArray()).toEqual([]);
    ring.push(1);
    ring.push(2);
    expect(ring.toArray()).toEqual([1, 2]);
    for (let i = 3; i <= 10; i++) ring.push(i);
    expect(ring.size).toBe(3);
    expect(ring.toArray()).toEqual([8, 9, 10]);
    const copy = ring.toArray();
    copy.push(99);
    expect(ring.toArray()).toEqual([8, 9, 10]);
    expect(() => new SpanRing(0)).toThrow(RangeError);
  });

  it('stays bounded under a flood', () => {
    const ring = new SpanRing<{ i: number }>(5000);
    for (let i = 0; i < 100_000; i++) ring.push({ i });
    expect(ring.size).toBe(5000);
    expect(ring.toArray()[0]).toEqual({ i: 95_000 });
  });
});

describe('ProxySpanRing', () => {
  it('keeps the newest spans, paths without the query and at most MAX_SPAN_PATH long', () => {
    const ring = new ProxySpanRing(2);
    const ids = 'a'.repeat(32) + 'b'.repeat(16);
    ring.record(ids, undefined, 'GET', '/one?x=1', 200, 1000, 5, 'ns/s@v1', 4001, false);
    ring.record(ids, 'c'.repeat(16), 'POST', `/${'p'.repeat(2000)}`, 502, 2000, 7, 'ns/s@v1', 4001, true);
    expect(ring.toArray().map((s) => s.path.length)).toEqual([4, MAX_SPAN_PATH]);
    ring.record(ids, undefined, 'GET', '/three', 503, 3000, 1, 'ns/s@v2', 0, true);
    expect(ring.size).toBe(2);
    expect(ring.toArray()).toEqual([
      {
        traceId: 'a'.repeat(32),
        spanId: 'b'.repeat(16),
        parentSpanId: 'c'.repeat(16),
        method: 'POST',
        path: `/${'p'.repeat(MAX_SPAN_PATH - 1)}`,
        status: 502,
        startMs: 2000,
        durationMs: 7,
        release: 'ns/s@v1',
        port: 4001,
        byProxy: true,
      },
      {
        traceId: 'a'.repeat(32),
        spanId: 'b'.repeat(16),
        parentSpanId: undefined,
        method: 'GET',
        path: '/three',
        status: 503,
        startMs: 3000,
        durationMs: 1,
        release: 'ns/s@v2',
        port: undefined,
        byProxy: true,
      },
    ]);
  });
});

describe('trace ids and traceparent', () => {
  it('makes distinct ids of the W3C sizes', () => {
    const traces = new Set(Array.from({ length: 1000 }, () => newTraceId()));
    const spans = new Set(Array.from({ length: 1000 }, () => newSpanId()));
    expect(traces.size).toBe(1000);
    expect(spans.size).toBe(1000);
    for (const id of traces) expect(id).toMatch(/^[0-9a-f]{32}$/);
    for (const id of spans) expect(id).toMatch(/^[0-9a-f]{16}$/);
    expect(newIds()).toMatch(/^[0-9a-f]{48}$/);
  });

  it('reads a valid traceparent and refuses malformed, all-zero and version-ff ones', () => {
    expect(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toEqual({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      parentSpanId: '00f067aa0ba902b7',
    });
    for (const bad of [
      '',
      'garbage',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra',
      '00-00000000000000000000000000000000-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01',
      'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
      '00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01',
    ])
      expect(parseTraceparent(bad), bad).toBeUndefined();
  });
});

describe('EdgeProxy request spans', () => {
  let proxy: EdgeProxy;
  let port: number;
  let backend: Server;
  let backendPort: number;
  const seen: Array<string | undefined> = [];
  const host = 'payments-api.ns.localhost';

  beforeAll(async () => {
    backend = createServer((req, res) => {
      seen.push(req.headers.traceparent as string | undefined);
      const wait = /^\/slow\/(\d+)/.exec(req.url ?? '');
      setTimeout(() => res.end('ok'), wait ? Number(wait[1]) : 0);
    });
    await new Promise<void>((resolve) => backend.listen(0, '127.0.0.1', resolve));
    backendPort = (backend.address() as { port: number }).port;
    proxy = new EdgeProxy({ port: 0, spansPerRoute: 4 });
    port = await proxy.listen();
    proxy.setRoute('payments-api', 'ns', {
      stable: { release: 'ns/payments-api@v1', targets: [{ host: '127.0.0.1', port: backendPort }] },
    });
  });
  afterAll(async () => {
    await proxy.close();
    backend.close();
  });

  it('records one server span per request, path without the query, and sends a traceparent naming it', async () => {
    const answer = await httpRequest(port, host, '/slow/60?card=4111111111111111');
    expect(answer.status).toBe(200);
    await waitFor('the span', () => proxy.spans('payments-api', 'ns').length === 1);
    const [span] = proxy.spans('payments-api', 'ns');
    expect(span).toMatchObject({
      method: 'GET',
      path: '/slow/60',
      status: 200,
      release: 'ns/payments-api@v1',
      port: backendPort,
      parentSpanId: undefined,
      byProxy: false,
    });
    expect(span!.durationMs).toBeGreaterThanOrEqual(55);
    expect(Math.abs(span!.startMs - Date.now())).toBeLessThan(10_000);
    expect(seen.at(-1)).toBe(`00-${span!.traceId}-${span!.spanId}-01`);
  });

  it("continues the caller's trace: the caller's span is the parent, the backend sees the proxy's span", async () => {
    const incoming = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    await httpRequest(port, host, '/x', { headers: { traceparent: incoming } });
    await waitFor('the span', () => proxy.spans('payments-api', 'ns').some((s) => s.path === '/x'));
    const span = proxy.spans('payments-api', 'ns').find((s) => s.path === '/x')!;
    expect(span.traceId).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(span.parentSpanId).toBe('00f067aa0ba902b7');
    expect(seen.at(-1)).toBe(`00-4bf92f3577b34da6a3ce929d0e0e4736-${span.spanId}-01`);
    // A malformed one starts a new trace and is not passed on.
    await httpRequest(port, host, '/y', { headers: { traceparent: 'not-a-traceparent' } });
    expect(seen.at(-1)).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    expect(seen.at(-1)).not.toContain('not-a');
  });

  it('keeps at most spansPerRoute spans of a route, and a span of the 503 when no replica is healthy', async () => {
    for (let i = 0; i < 6; i++) await httpRequest(port, host, `/n/${i}`);
    await waitFor('the spans', () => proxy.spans('payments-api', 'ns').at(-1)?.path === '/n/5');
    expect(proxy.spans('payments-api', 'ns').map((s) => s.path)).toEqual(['/n/2', '/n/3', '/n/4', '/n/5']);
    proxy.setTargetHealth('ns/payments-api@v1', { host: '127.0.0.1', port: backendPort }, false);
    expect((await httpRequest(port, host, '/down')).status).toBe(503);
    expect(proxy.spans('payments-api', 'ns').at(-1)).toMatchObject({ path: '/down', status: 503, byProxy: true });
    proxy.setTargetHealth('ns/payments-api@v1', { host: '127.0.0.1', port: backendPort }, true);
    expect(proxy.spans('other', 'ns')).toEqual([]);
    proxy.removeRoute('payments-api', 'ns');
    expect(proxy.spans('payments-api', 'ns')).toEqual([]);
  });
});
