import { describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { jsonDepth, OTLP_LIMITS, parseOtlpJson } from './otlp-json.ts';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const span = (over: Record<string, unknown> = {}) => ({
  traceId: TRACE,
  spanId: '00f067aa0ba902b7',
  name: 'SELECT payments',
  kind: 3,
  startTimeUnixNano: '1700000000000000000',
  endTimeUnixNano: '1700000000250000000',
  status: { code: 2 },
  ...over,
});
const body = (spans: unknown[], resource: unknown[] = []) =>
  JSON.stringify({ resourceSpans: [{ resource: { attributes: resource }, scopeSpans: [{ spans }] }] });

function refused(text: string, limits = OTLP_LIMITS): IdpError {
  try {
    parseOtlpJson(text, limits);
  } catch (err) {
    return err as IdpError;
  }
  throw new Error('not refused');
}

describe('OTLP JSON', () => {
  it('reads spans: ids, kind, times in ms, status, attributes', () => {
    const parsed = parseOtlpJson(
      body([
        span({
          parentSpanId: '1111111111111111',
          attributes: [
            { key: 'db.system', value: { stringValue: 'postgresql' } },
            { key: 'rows', value: { intValue: '42' } },
            { key: 'cached', value: { boolValue: false } },
          ],
        }),
      ]),
    );
    expect(parsed.rejected).toBe(0);
    expect(parsed.spans).toEqual([
      {
        traceId: TRACE,
        spanId: '00f067aa0ba902b7',
        parentSpanId: '1111111111111111',
        name: 'SELECT payments',
        kind: 'client',
        startMs: 1_700_000_000_000,
        durationMs: 250,
        status: 'error',
        attributes: { 'db.system': 'postgresql', rows: 42, cached: false },
      },
    ]);
  });

  it('accepts base64 ids as some exporters send them', () => {
    const b64 = Buffer.from(TRACE, 'hex').toString('base64');
    const sb64 = Buffer.from('00f067aa0ba902b7', 'hex').toString('base64');
    expect(parseOtlpJson(body([span({ traceId: b64, spanId: sb64 })])).spans[0]).toMatchObject({
      traceId: TRACE,
      spanId: '00f067aa0ba902b7',
    });
  });

  it('never reads identity from the body: resource attributes are ignored and identity attributes dropped', () => {
    const parsed = parseOtlpJson(
      body(
        [
          span({
            attributes: [
              { key: 'service.name', value: { stringValue: 'users-api' } },
              { key: 'team', value: { stringValue: 'identity' } },
              { key: 'deployment.environment', value: { stringValue: 'production' } },
              { key: 'idp.release', value: { stringValue: 'v9' } },
              { key: 'http.route', value: { stringValue: '/pay' } },
            ],
          }),
        ],
        [{ key: 'service.name', value: { stringValue: 'users-api' } }],
      ),
    );
    expect(parsed.spans[0]!.attributes).toEqual({ 'http.route': '/pay', 'otel.dropped_attributes_count': 4 });
  });

  it('bounds attributes: count, key length, value length; complex values as bounded JSON text', () => {
    const many = Array.from({ length: 100 }, (_, i) => ({ key: `k${i}`, value: { stringValue: 'v' } }));
    const long = [
      { key: 'x'.repeat(200), value: { stringValue: 'v' } },
      { key: 'big', value: { stringValue: 'y'.repeat(5000) } },
      { key: 'list', value: { arrayValue: { values: [{ stringValue: 'a' }] } } },
    ];
    const parsed = parseOtlpJson(body([span({ attributes: [...long, ...many] })]));
    const attrs = parsed.spans[0]!.attributes;
    expect(Object.keys(attrs)).toHaveLength(OTLP_LIMITS.maxAttributes + 1);
    expect(attrs.big).toHaveLength(OTLP_LIMITS.maxValueLength);
    expect(attrs.list).toBe('{"values":[{"stringValue":"a"}]}');
    expect(attrs['otel.dropped_attributes_count']).toBe(1 + 100 - (OTLP_LIMITS.maxAttributes - 2));
  });

  it("bounds the characters of one span's attributes together", () => {
    const wide = Array.from({ length: 10 }, (_, i) => ({ key: `w${i}`, value: { stringValue: 'z'.repeat(1000) } }));
    const attrs = parseOtlpJson(body([span({ attributes: wide })])).spans[0]!.attributes;
    expect(Object.keys(attrs)).toEqual(['w0', 'w1', 'w2', 'w3', 'otel.dropped_attributes_count']);
    expect(attrs['otel.dropped_attributes_count']).toBe(6);
  });

  it('rejects bad spans one by one (partial success) and keeps the good ones', () => {
    const parsed = parseOtlpJson(
      body([
        span(),
        span({ traceId: 'zz' }),
        span({ spanId: '0000000000000000' }),
        span({ endTimeUnixNano: '1' }),
        span({ startTimeUnixNano: 'soon' }),
      ]),
    );
    expect(parsed.spans).toHaveLength(1);
    expect(parsed.rejected).toBe(4);
    expect(parsed.reasons.length).toBeGreaterThan(0);
  });

  it('refuses too many spans, deep nesting, non-JSON and the wrong shape', () => {
    const tooMany = refused(body(Array.from({ length: 11 }, () => span())), { ...OTLP_LIMITS, maxSpans: 10 });
    expect(tooMany.code).toBe('PAYLOAD_TOO_LARGE');
    const deep = refused(`${'['.repeat(10_000)}${']'.repeat(10_000)}`);
    expect(deep.code).toBe('VALIDATION_FAILED');
    expect(deep.message).toMatch(/deeper than 24/);
    expect(refused('{"resourceSpans": [').code).toBe('INVALID_JSON');
    expect(refused('[1,2]').code).toBe('VALIDATION_FAILED');
    expect(refused('{"resourceSpans": {"a": 1}}').code).toBe('VALIDATION_FAILED');
    expect(parseOtlpJson('{}').spans).toEqual([]);
  });

  it('counts depth outside strings only', () => {
    expect(jsonDepth('{"a":"[[[[{{{{","b":[1,{"c":2}]}', 100)).toBe(3);
    expect(jsonDepth('"\\"[["', 100)).toBe(0);
  });

  it('does not let __proto__ keys reach prototypes', () => {
    const parsed = parseOtlpJson(body([span({ attributes: [{ key: '__proto__', value: { stringValue: 'x' } }] })]));
    expect(({} as Record<string, unknown>).x).toBeUndefined();
    expect(Object.getPrototypeOf(parsed.spans[0]!.attributes)).toBe(Object.prototype);
  });
});
