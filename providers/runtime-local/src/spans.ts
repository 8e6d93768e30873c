// The edge proxy's request spans: one server span per proxied request, kept in a bounded ring per
// service and namespace (the oldest overwritten), so tracing costs the request path a few array
// stores and no I/O: the ring keeps its fields in parallel arrays (numbers in one Float64Array),
// so recording allocates no object per request. Trace and span ids come from a pre-filled random
// pool (one randomFillSync per ~170 requests) rather than a crypto call each.
import { randomFillSync } from 'node:crypto';

export interface ProxySpan {
  traceId: string;
  spanId: string;
  /** The caller's span when the request came with a W3C traceparent. */
  parentSpanId: string | undefined;
  method: string;
  /** The request target without its query string. */
  path: string;
  status: number;
  /** Epoch milliseconds (fractional). */
  startMs: number;
  durationMs: number;
  release: string;
  /** The replica's port (replicas keep theirs across restarts); undefined when none was reached. */
  port: number | undefined;
  /** True when the proxy itself answered (no healthy replica, timeout, bad gateway). */
  byProxy: boolean;
}

/** Spans kept per service and namespace unless told otherwise. */
export const DEFAULT_SPANS_PER_ROUTE = 5000;

/** A fixed-size ring: push overwrites the oldest once full. */
export class SpanRing<T> {
  private readonly items: Array<T | undefined>;
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity must be ≥ 1, got ${capacity}`);
    this.items = new Array<T | undefined>(capacity);
  }

  push(item: T): void {
    this.items[this.next] = item;
    this.next = this.next + 1 === this.capacity ? 0 : this.next + 1;
    if (this.count < this.capacity) this.count++;
  }

  get size(): number {
    return this.count;
  }

  /** A copy, oldest first. */
  toArray(): T[] {
    const out: T[] = [];
    const first = this.count < this.capacity ? 0 : this.next;
    for (let i = 0; i < this.count; i++) out.push(this.items[(first + i) % this.capacity] as T);
    return out;
  }
}

/** Numbers per span in ProxySpanRing.numbers: start, duration, status, port (0: none), answered by the proxy. */
const NUMS = 5;
/** A span keeps at most this much of the path, so a ring's memory is bounded whatever clients send. */
export const MAX_SPAN_PATH = 512;

/** The proxy's spans of one route: a ring of parallel arrays, written once per request. */
export class ProxySpanRing {
  /** Trace id and span id, 48 hex digits. */
  private readonly ids: string[];
  private readonly parents: Array<string | undefined>;
  private readonly methods: string[];
  private readonly paths: string[];
  private readonly releases: string[];
  private readonly numbers: Float64Array;
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`ring capacity must be ≥ 1, got ${capacity}`);
    this.ids = new Array<string>(capacity).fill('');
    this.parents = new Array<string | undefined>(capacity).fill(undefined);
    this.methods = new Array<string>(capacity).fill('');
    this.paths = new Array<string>(capacity).fill('');
    this.releases = new Array<string>(capacity).fill('');
    this.numbers = new Float64Array(capacity * NUMS);
  }

  /** `url` is the request target: the path is kept without its query string, at most MAX_SPAN_PATH characters. */
  record(
    ids: string,
    parent: string | undefined,
    method: string,
    url: string,
    status: number,
    startMs: number,
    durationMs: number,
    release: string,
    port: number,
    byProxy: boolean,
  ): void {
    const i = this.next;
    const query = url.indexOf('?');
    this.ids[i] = ids;
    this.parents[i] = parent;
    this.methods[i] = method;
    this.paths[i] =
      query < 0 && url.length <= MAX_SPAN_PATH
        ? url
        : url.slice(0, Math.min(query < 0 ? url.length : query, MAX_SPAN_PATH));
    this.releases[i] = release;
    const n = i * NUMS;
    this.numbers[n] = startMs;
    this.numbers[n + 1] = durationMs;
    this.numbers[n + 2] = status;
    this.numbers[n + 3] = port;
    this.numbers[n + 4] = byProxy ? 1 : 0;
    this.next = i + 1 === this.capacity ? 0 : i + 1;
    if (this.count < this.capacity) this.count++;
  }

  get size(): number {
    return this.count;
  }

  /** The spans as objects, oldest first. */
  toArray(): ProxySpan[] {
    const out: ProxySpan[] = [];
    const first = this.count < this.capacity ? 0 : this.next;
    for (let k = 0; k < this.count; k++) {
      const i = (first + k) % this.capacity;
      const n = i * NUMS;
      const ids = this.ids[i]!;
      out.push({
        traceId: ids.slice(0, 32),
        spanId: ids.slice(32),
        parentSpanId: this.parents[i],
        method: this.methods[i]!,
        path: this.paths[i]!,
        status: this.numbers[n + 2]!,
        startMs: this.numbers[n]!,
        durationMs: this.numbers[n + 1]!,
        release: this.releases[i]!,
        port: this.numbers[n + 3] === 0 ? undefined : this.numbers[n + 3],
        byProxy: this.numbers[n + 4] === 1,
      });
    }
    return out;
  }
}

const POOL_BYTES = 4096;
let pool = Buffer.alloc(POOL_BYTES);
let used = POOL_BYTES;

function take(bytes: number): string {
  if (used + bytes > POOL_BYTES) {
    pool = randomFillSync(Buffer.alloc(POOL_BYTES));
    used = 0;
  }
  const hex = pool.toString('hex', used, used + bytes);
  used += bytes;
  return hex;
}

/** A new trace id and span id together (48 hex digits), neither all zeros. */
export function newIds(): string {
  const ids = take(24);
  return /^0{32}|0{16}$/.test(ids) ? newIds() : ids;
}

/** A new 16-byte trace id (32 hex digits), never all zeros. */
export function newTraceId(): string {
  const id = take(16);
  return id === '00000000000000000000000000000000' ? newTraceId() : id;
}

/** A new 8-byte span id (16 hex digits), never all zeros. */
export function newSpanId(): string {
  const id = take(8);
  return id === '0000000000000000' ? newSpanId() : id;
}

const HEX = /^[0-9a-f]+$/;

/**
 * The trace id and parent span id of a W3C traceparent (`00-<32 hex>-<16 hex>-<2 hex>`), or
 * undefined when it is not one (then the proxy starts a new trace, as the spec says).
 */
export function parseTraceparent(value: string): { traceId: string; parentSpanId: string } | undefined {
  if (value.length < 55 || value[2] !== '-' || value[35] !== '-' || value[52] !== '-') return undefined;
  const version = value.slice(0, 2);
  if (version === 'ff' || !HEX.test(version) || (version === '00' && value.length !== 55)) return undefined;
  const traceId = value.slice(3, 35);
  const parentSpanId = value.slice(36, 52);
  if (!HEX.test(traceId) || !HEX.test(parentSpanId) || !HEX.test(value.slice(53, 55))) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentSpanId)) return undefined;
  return { traceId, parentSpanId };
}
