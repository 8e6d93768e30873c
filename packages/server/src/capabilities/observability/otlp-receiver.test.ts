import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OTLP_LIMITS } from './otlp-json.ts';
import { OtlpReceiver } from './otlp-receiver.ts';
import { TraceStore } from './trace-store.ts';
import { ensureTraceKey, TraceTokens } from './trace-token.ts';

// A real receiver on a free loopback port, spoken to over HTTP.

const dir = mkdtempSync(join(tmpdir(), 'idp-otlp-'));
const tokens = new TraceTokens(ensureTraceKey(dir));
const store = new TraceStore(100);
const receiver = new OtlpReceiver({
  port: 0,
  tokens,
  store,
  maxBodyBytes: 64 * 1024,
  limits: { ...OTLP_LIMITS, maxSpans: 50 },
  rate: { perMinute: 60, burst: 5 },
});
const payments = tokens.sign({ namespace: 'staging', service: 'payments-api', release: 'v1' });
let releases = 0;
/** A token of its own release, so one test's requests do not use up another's rate. */
const fresh = () => tokens.sign({ namespace: 'staging', service: 'payments-api', release: `r${++releases}` });

let n = 0;
const span = () => ({
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: (++n).toString(16).padStart(16, '0'),
  name: 'work',
  startTimeUnixNano: '1700000000000000000',
  endTimeUnixNano: '1700000000100000000',
});
const otlp = (spans: unknown[], resource: unknown[] = []) =>
  JSON.stringify({ resourceSpans: [{ resource: { attributes: resource }, scopeSpans: [{ spans }] }] });

async function post(body: string | Buffer, headers: Record<string, string> = {}, path = '/v1/traces', method = 'POST') {
  const res = await fetch(`${receiver.endpoint}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: method === 'GET' ? undefined : body,
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined, headers: res.headers };
}
const auth = (token: string) => ({ authorization: `Bearer ${token}` });

beforeAll(() => receiver.listen());
afterAll(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('OTLP receiver', () => {
  it('stores spans as the service its token names, whatever the resource claims', async () => {
    const res = await post(
      otlp([span()], [{ key: 'service.name', value: { stringValue: 'users-api' } }]),
      auth(payments),
    );
    expect(res.status).toBe(200);
    expect(res.json).toEqual({});
    expect(store.spans('staging', 'payments-api')).toHaveLength(1);
    expect(store.spans('staging', 'payments-api')[0]).toMatchObject({ release: 'v1', name: 'work' });
    expect(store.spans('staging', 'users-api')).toEqual([]);
  });

  it('refuses a missing, forged or unsigned token with 401 and stores nothing', async () => {
    const before = store.size;
    const forged = new TraceTokens(Buffer.alloc(32, 1)).sign({
      namespace: 'staging',
      service: 'users-api',
      release: 'v1',
    });
    for (const headers of [
      {},
      auth(forged),
      auth('idpt1.c3RhZ2luZy91c2Vycy1hcGkvdjE.'),
      { authorization: 'Basic eDp5' },
    ]) {
      const res = await post(otlp([span()]), headers);
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe('UNAUTHENTICATED');
    }
    expect(store.size).toBe(before);
  });

  it('refuses protobuf with 415 naming JSON, and unknown encodings', async () => {
    const res = await post('\x0a\x00', { ...auth(payments), 'content-type': 'application/x-protobuf' });
    expect(res.status).toBe(415);
    expect(res.json.error.details.hint).toMatch(/http\/json/);
    expect((await post(otlp([span()]), { ...auth(payments), 'content-encoding': 'br' })).status).toBe(415);
  });

  it('reads gzip bodies, bounded after decompression too', async () => {
    expect((await post(gzipSync(otlp([span()])), { ...auth(fresh()), 'content-encoding': 'gzip' })).status).toBe(200);
    const bomb = gzipSync(Buffer.alloc(1024 * 1024, 0x20));
    const res = await post(bomb, { ...auth(fresh()), 'content-encoding': 'gzip' });
    expect(res.status).toBe(413);
  });

  it('refuses oversize bodies, too many spans and deep nesting', async () => {
    expect((await post(' '.repeat(65 * 1024), auth(fresh()))).status).toBe(413);
    const many = await post(otlp(Array.from({ length: 51 }, span)), auth(fresh()));
    expect(many.status).toBe(413);
    const deep = await post(`{"resourceSpans":${'['.repeat(100)}${']'.repeat(100)}}`, auth(fresh()));
    expect(deep.status).toBe(400);
  });

  it('answers nothing but POST /v1/traces', async () => {
    for (const [path, method] of [
      ['/api/whoami', 'GET'],
      ['/healthz', 'GET'],
      ['/v1/traces', 'GET'],
      ['/v1/metrics', 'POST'],
    ] as const) {
      const res = await post(otlp([span()]), auth(payments), path, method);
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.json.error.code).toBe('NOT_FOUND');
    }
  });

  it('limits each token’s rate with 429 and retry-after; another release is not affected', async () => {
    const chatty = tokens.sign({ namespace: 'staging', service: 'chatty', release: 'v1' });
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await post(otlp([span()]), auth(chatty))).status);
    expect(statuses.slice(0, 5)).toEqual([200, 200, 200, 200, 200]);
    expect(statuses.at(-1)).toBe(429);
    const limited = await post(otlp([span()]), auth(chatty));
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const quiet = tokens.sign({ namespace: 'staging', service: 'quiet', release: 'v1' });
    expect((await post(otlp([span()]), auth(quiet))).status).toBe(200);
  });

  it('keeps the ring of a service bounded however much it sends', async () => {
    const flood = tokens.sign({ namespace: 'staging', service: 'flood', release: 'v1' });
    for (let i = 0; i < 5; i++) await post(otlp(Array.from({ length: 50 }, span)), auth(flood));
    expect(store.spans('staging', 'flood')).toHaveLength(100);
  });
});
