import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { TraceTokens } from '../../packages/server/src/capabilities/observability/trace-token.ts';
import { envServer } from '../support/env-server.ts';
import { storesAvailable } from '../support/environments.ts';
import { api, type TestServer } from '../support/server.ts';

// The OTLP receiver takes spans from workloads on a loopback port. A workload (or anything else on
// the host) tries to: export without a token or with a forged or unsigned one; write into another
// service's or team's traces by claiming them in its resource and span attributes; exhaust memory
// with oversize, deeply nested or span-heavy bodies; and reach the control plane's API through the
// receiver's port. Each is refused (401, 413, 400, 404) with nothing stored, or stored as the
// workload its token names.

const ok = await storesAvailable();

const TRACE = 'feedfacefeedfacefeedfacefeedface';
let spanNo = 0;
const span = (over: Record<string, unknown> = {}) => ({
  traceId: TRACE,
  spanId: (0x1000 + ++spanNo).toString(16).padStart(16, '0'),
  name: 'nightly job',
  kind: 1,
  startTimeUnixNano: String(BigInt(Date.now() - 1000) * 1_000_000n),
  endTimeUnixNano: String(BigInt(Date.now()) * 1_000_000n),
  ...over,
});
const claim = (key: string, value: string) => ({ key, value: { stringValue: value } });
const otlp = (spans: unknown[], resource: unknown[] = []) =>
  JSON.stringify({ resourceSpans: [{ resource: { attributes: resource }, scopeSpans: [{ spans }] }] });

describe.skipIf(!ok)('the OTLP receiver stores only signed spans, as who signed them, within bounds', () => {
  let server: TestServer;
  let t: Record<string, string>;
  let env: string;
  let tokens: TraceTokens;
  let namespace: string;
  const setup = envServer({ users: ['alice', 'dave'], label: 'sec-traces' });

  const post = async (
    body: string | ReadableStream,
    headers: Record<string, string> = {},
    path = '/v1/traces',
    method = 'POST',
  ) => {
    const res = await fetch(`${server.otlpEndpoint}${path}`, {
      method,
      headers: { 'content-type': 'application/json', ...headers },
      body: method === 'GET' ? undefined : body,
      ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit);
    const text = await res.text();
    return { status: res.status, text, json: text ? JSON.parse(text) : undefined };
  };
  const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
  const traces = (token: string, service: string) =>
    api(server, token, 'GET', `/api/observability/traces?service=${service}&env=${env}&since=1h`);

  beforeAll(() => {
    ({ server, tokens: t, env } = setup);
    namespace = `${env}-alice`;
    tokens = new TraceTokens(Buffer.from(readFileSync(join(server.dataDir, 'traces.key'), 'utf8').trim(), 'hex'));
  });

  it('without a token, with a forged one or an unsigned one: 401 and nothing stored', async () => {
    const target = { namespace, service: 'payments-api', release: 'v1' };
    const forged = new TraceTokens(Buffer.alloc(32, 0x41)).sign(target);
    const payload = Buffer.from(`${namespace}/payments-api/v1`).toString('base64url');
    for (const headers of [
      {},
      bearer(forged),
      bearer(`idpt1.${payload}.`),
      bearer(`idpt1.${payload}`),
      bearer(server.adminToken),
      bearer(t.alice!),
      { authorization: `Basic ${Buffer.from('x:y').toString('base64')}` },
    ]) {
      const res = await post(otlp([span()]), headers);
      expect(res.status, JSON.stringify(headers)).toBe(401);
      expect(res.json.error.code).toBe('UNAUTHENTICATED');
    }
    expect((await traces(server.adminToken, 'payments-api')).json.traces).toEqual([]);
  });

  it('a workload claiming another service and team is stored as itself', async () => {
    const own = tokens.sign({ namespace, service: 'payments-api', release: 'v1' });
    const res = await post(
      otlp(
        [
          span({
            attributes: [claim('service.name', 'users-api'), claim('team', 'identity'), claim('job', 'nightly')],
          }),
        ],
        [claim('service.name', 'users-api'), claim('team', 'identity'), claim('deployment.environment', 'production')],
      ),
      bearer(own),
    );
    expect(res.status, res.text).toBe(200);
    expect((await traces(server.adminToken, 'users-api')).json.traces).toEqual([]);
    const mine = await traces(t.alice!, 'payments-api');
    expect(mine.json.stamp).toEqual({ team: 'payments', service: 'payments-api', env, namespace });
    expect(mine.json.traces).toMatchObject([{ traceId: TRACE, release: 'v1', spans: 1 }]);
    const tree = await api(
      server,
      t.alice!,
      'GET',
      `/api/observability/traces/${TRACE}?service=payments-api&env=${env}`,
    );
    expect(tree.json.spans).toHaveLength(1);
    expect(tree.json.spans[0].attributes).toEqual({ job: 'nightly', 'otel.dropped_attributes_count': 2 });
    // The identity team's dave reads none of it.
    expect((await traces(t.dave!, 'payments-api')).json.traces).toEqual([]);
  });

  it('oversize, chunked-oversize, deep and span-heavy bodies are refused and store nothing', async () => {
    const token = tokens.sign({ namespace, service: 'payments-api', release: 'v2' });
    const before = (await traces(server.adminToken, 'payments-api')).json.traces.length;
    const big = await post(otlp([span({ name: 'x'.repeat(1024 * 1024) })]), bearer(token));
    expect(big.status).toBe(413);
    expect(big.json.error.code).toBe('PAYLOAD_TOO_LARGE');
    // No Content-Length: counted while read.
    const chunks = Readable.from(
      (function* () {
        for (let i = 0; i < 40; i++) yield Buffer.alloc(64 * 1024, 0x20);
      })(),
    );
    const chunked = await post(Readable.toWeb(chunks) as ReadableStream, bearer(token));
    expect(chunked.status).toBe(413);
    const deep = await post(`{"resourceSpans":${'['.repeat(5000)}${']'.repeat(5000)}}`, bearer(token));
    expect(deep.status).toBe(400);
    expect(deep.json.error.message).toMatch(/deeper than/);
    const heavy = await post(otlp(Array.from({ length: 1001 }, () => span())), bearer(token));
    expect(heavy.status).toBe(413);
    expect((await traces(server.adminToken, 'payments-api')).json.traces).toHaveLength(before);
  });

  it("the receiver's port answers nothing of the control plane's API", async () => {
    for (const [path, method] of [
      ['/api/whoami', 'GET'],
      ['/api/environments', 'POST'],
      ['/api/observability/traces?service=payments-api&env=staging', 'GET'],
      ['/openapi.json', 'GET'],
      ['/healthz', 'GET'],
      ['/metrics', 'GET'],
      ['/v1/secret/data/staging/payments-api', 'GET'],
    ] as const) {
      const res = await post('{}', bearer(server.adminToken), path, method);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.json.error.code).toBe('NOT_FOUND');
      expect(res.text).not.toContain(namespace);
    }
    // And a trace token is no API token.
    const token = tokens.sign({ namespace, service: 'payments-api', release: 'v1' });
    expect((await api(server, token, 'GET', '/api/whoami')).status).toBe(401);
  });
});
