// OTLP/HTTP JSON (ExportTraceServiceRequest) read into bounded spans. The body comes from a
// workload, so everything is bounded before or while it is read: nesting depth (checked on the
// text before JSON.parse), spans per request, attributes per span, key and value lengths. The
// resource's attributes (service.name, deployment.environment …) are not read at all, and span
// attributes that would claim an identity are dropped: who sent a span is what its token says.
import { IdpError } from '@idp/contracts';

export interface OtlpLimits {
  /** Most spans in one request; more is refused. */
  maxSpans: number;
  /** Attributes kept per span (the rest are counted as dropped). */
  maxAttributes: number;
  /** Longest attribute key kept. */
  maxKeyLength: number;
  /** String values are cut to this length. */
  maxValueLength: number;
  /** Deepest nesting of arrays and objects accepted. */
  maxDepth: number;
  /** Keys and string values of one span's attributes together, in characters; past it the rest are dropped. */
  maxAttributeChars: number;
}

export const OTLP_LIMITS: OtlpLimits = {
  maxSpans: 1000,
  maxAttributes: 64,
  maxKeyLength: 128,
  maxValueLength: 1024,
  maxDepth: 24,
  maxAttributeChars: 4096,
};

export type SpanKind = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';
const KINDS: SpanKind[] = ['unspecified', 'internal', 'server', 'client', 'producer', 'consumer'];

export interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: SpanKind;
  startMs: number;
  durationMs: number;
  status: 'ok' | 'error' | 'unset';
  attributes: Record<string, string | number | boolean>;
}

export interface OtlpParsed {
  spans: OtlpSpan[];
  /** Spans refused one by one (bad ids or times), reported back as OTLP's partial success. */
  rejected: number;
  reasons: string[];
}

/** Attribute keys a workload may not set: the platform's stamp says who it is. */
const CLAIMS = /^(service\.|deployment\.|idp\.|k8s\.)|^(team|service|env|environment|namespace|release|replica)$/;
const HEX32 = /^[0-9a-f]{32}$/;
const HEX16 = /^[0-9a-f]{16}$/;
const MAX_NAME = 256;
/** A day: longer spans are someone's clock, not a request. */
const MAX_DURATION_NS = 86_400_000_000_000n;

/** The deepest nesting of `[` and `{` outside strings; stops counting once past `limit`. */
export function jsonDepth(text: string, limit: number): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) max = depth;
      if (max > limit) return max;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return max;
}

function invalid(message: string, field: string): IdpError {
  return new IdpError('VALIDATION_FAILED', message, {
    field,
    hint: 'Send an OTLP ExportTraceServiceRequest as JSON: {"resourceSpans":[{"scopeSpans":[{"spans":[…]}]}]}.',
  });
}

function list(value: unknown, field: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw invalid(`${field} must be an array`, field);
  return value;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

/** OTLP/JSON ids are hex (the protobuf bytes as hex); some exporters send base64: both are accepted. */
function id(value: unknown, hex: RegExp, bytes: number): string | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const lower = value.toLowerCase();
  if (hex.test(lower)) return /^0+$/.test(lower) ? undefined : lower;
  const decoded = Buffer.from(value, 'base64');
  if (decoded.length !== bytes || decoded.toString('base64') !== value) return undefined;
  const asHex = decoded.toString('hex');
  return /^0+$/.test(asHex) ? undefined : asHex;
}

function nanos(value: unknown): bigint | undefined {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === 'string' && /^[0-9]{1,20}$/.test(value)) return BigInt(value);
  return undefined;
}

function attributeValue(value: unknown, limits: OtlpLimits): string | number | boolean | undefined {
  const v = record(value);
  if (typeof v.stringValue === 'string') return v.stringValue.slice(0, limits.maxValueLength);
  if (typeof v.boolValue === 'boolean') return v.boolValue;
  if (typeof v.doubleValue === 'number' && Number.isFinite(v.doubleValue)) return v.doubleValue;
  if (typeof v.intValue === 'number' && Number.isSafeInteger(v.intValue)) return v.intValue;
  if (typeof v.intValue === 'string' && /^-?[0-9]{1,16}$/.test(v.intValue)) return Number(v.intValue);
  // Arrays, maps and bytes: kept as bounded JSON text.
  if ('arrayValue' in v || 'kvlistValue' in v || 'bytesValue' in v)
    return JSON.stringify(v.arrayValue ?? v.kvlistValue ?? v.bytesValue).slice(0, limits.maxValueLength);
  return undefined;
}

function attributes(value: unknown, limits: OtlpLimits, field: string): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = Object.create(null) as Record<string, never>;
  let kept = 0;
  let dropped = 0;
  let chars = 0;
  for (const item of list(value, field)) {
    const { key, value: v } = record(item);
    if (typeof key !== 'string' || key === '' || key.length > limits.maxKeyLength || CLAIMS.test(key)) {
      dropped++;
      continue;
    }
    const parsed = attributeValue(v, limits);
    const size = key.length + (typeof parsed === 'string' ? parsed.length : 8);
    if (parsed === undefined || kept >= limits.maxAttributes || chars + size > limits.maxAttributeChars) {
      dropped++;
      continue;
    }
    chars += size;
    if (!(key in out)) kept++;
    out[key] = parsed;
  }
  if (dropped > 0) out['otel.dropped_attributes_count'] = dropped;
  return { ...out };
}

/** Reads the body of POST /v1/traces (already size-checked) into spans; throws IdpError for a body that is not one. */
export function parseOtlpJson(text: string, limits: OtlpLimits = OTLP_LIMITS): OtlpParsed {
  if (jsonDepth(text, limits.maxDepth) > limits.maxDepth)
    throw new IdpError('VALIDATION_FAILED', `the body nests deeper than ${limits.maxDepth} levels`, {
      field: 'body',
      hint: 'OTLP/JSON needs about ten levels; send attributes as flat key/value pairs.',
    });
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new IdpError('INVALID_JSON', `the body is not JSON: ${(err as Error).message}`, {
      hint: 'Send an OTLP ExportTraceServiceRequest as JSON (Content-Type: application/json).',
    });
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body))
    throw invalid('the body must be a JSON object with resourceSpans', 'resourceSpans');
  const out: OtlpParsed = { spans: [], rejected: 0, reasons: [] };
  const reject = (reason: string) => {
    out.rejected++;
    if (out.reasons.length < 3 && !out.reasons.includes(reason)) out.reasons.push(reason);
  };
  let seen = 0;
  for (const [r, resource] of list(record(body).resourceSpans, 'resourceSpans').entries()) {
    for (const [s, scope] of list(record(resource).scopeSpans, `resourceSpans[${r}].scopeSpans`).entries()) {
      const spans = list(record(scope).spans, `resourceSpans[${r}].scopeSpans[${s}].spans`);
      seen += spans.length;
      if (seen > limits.maxSpans)
        throw new IdpError('PAYLOAD_TOO_LARGE', `more than ${limits.maxSpans} spans in one request`, {
          field: 'spans',
          limit: limits.maxSpans,
          hint: `Export in batches of at most ${limits.maxSpans} spans (OTEL_BSP_MAX_EXPORT_BATCH_SIZE).`,
        });
      for (const raw of spans) {
        const span = record(raw);
        const traceId = id(span.traceId, HEX32, 16);
        const spanId = id(span.spanId, HEX16, 8);
        if (!traceId || !spanId) {
          reject('a span without a valid traceId (32 hex digits) and spanId (16 hex digits)');
          continue;
        }
        const parentSpanId = span.parentSpanId === undefined ? undefined : id(span.parentSpanId, HEX16, 8);
        const start = nanos(span.startTimeUnixNano);
        const end = nanos(span.endTimeUnixNano);
        if (start === undefined || end === undefined || end < start || end - start > MAX_DURATION_NS) {
          reject('a span without startTimeUnixNano ≤ endTimeUnixNano (at most a day apart)');
          continue;
        }
        const kind = typeof span.kind === 'number' ? KINDS[span.kind] : undefined;
        const code = record(span.status).code;
        out.spans.push({
          traceId,
          spanId,
          parentSpanId,
          name: typeof span.name === 'string' ? span.name.slice(0, MAX_NAME) : '',
          kind: kind ?? 'unspecified',
          startMs: Number(start / 1000n) / 1000,
          durationMs: Number(end - start) / 1e6,
          status: code === 1 ? 'ok' : code === 2 ? 'error' : 'unset',
          attributes: attributes(span.attributes, limits, 'attributes'),
        });
      }
    }
  }
  return out;
}
