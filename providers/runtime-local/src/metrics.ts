// Per-release request metrics kept by the edge proxy: counters plus a log-linear latency
// histogram (8 sub-buckets per power of two of microseconds, so a percentile is within ~6%).
// Recording is a few integer operations and one array increment; no allocation.

const SUB_BITS = 3;
const SUB = 1 << SUB_BITS; // 8
/** Values up to 2^31 µs (≈ 36 min); larger ones land in the last bucket. */
export const HISTOGRAM_BUCKETS = SUB + (31 - SUB_BITS) * SUB;

function bucketOf(micros: number): number {
  if (micros < SUB) return micros < 0 ? 0 : micros;
  const v = micros >= 0x7fffffff ? 0x7fffffff : micros;
  const exponent = 31 - Math.clz32(v); // ≥ SUB_BITS
  const sub = (v >>> (exponent - SUB_BITS)) & (SUB - 1);
  return SUB + (exponent - SUB_BITS) * SUB + sub;
}

/** Middle of a bucket, in milliseconds. */
function bucketValueMs(index: number): number {
  if (index < SUB) return index / 1000;
  const exponent = ((index - SUB) >> SUB_BITS) + SUB_BITS;
  const sub = (index - SUB) & (SUB - 1);
  const low = (SUB + sub) * 2 ** (exponent - SUB_BITS);
  const width = 2 ** (exponent - SUB_BITS);
  return (low + width / 2) / 1000;
}

/** The p-th percentile (0..100) of a bucket array, in ms; 0 when empty. */
export function percentileOf(buckets: ArrayLike<number>, p: number): number {
  let total = 0;
  for (let i = 0; i < buckets.length; i++) total += buckets[i]!;
  if (total === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * total));
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    seen += buckets[i]!;
    if (seen >= rank) return bucketValueMs(i);
  }
  return bucketValueMs(buckets.length - 1);
}

export class LatencyHistogram {
  readonly buckets = new Float64Array(HISTOGRAM_BUCKETS);
  count = 0;
  sumMs = 0;

  record(ms: number): void {
    this.buckets[bucketOf(ms >= 2_000_000 ? 0x7fffffff : (ms * 1000) | 0)]!++;
    this.count++;
    this.sumMs += ms;
  }

  percentile(p: number): number {
    return percentileOf(this.buckets, p);
  }
}

/** Cumulative counters of one release; diff two with `diffSnapshots` to get a window. */
export interface MetricsSnapshot {
  release: string;
  /** performance.now() of the proxy when taken. */
  at: number;
  requests: number;
  /** Responses with status ≥ 500, including the proxy's own 502/503/504. */
  errors: number;
  /** 502/503/504 the proxy produced because the backend failed or had no healthy target. */
  proxyErrors: number;
  latencySumMs: number;
  /** Histogram buckets (see LatencyHistogram). */
  latency: Float64Array;
}

export interface ReleaseMetrics {
  release: string;
  requests: number;
  errors: number;
  proxyErrors: number;
  /** errors / requests; 0 without requests. */
  errorRate: number;
  p50Ms: number;
  p99Ms: number;
  meanMs: number;
  /** Length of the window in ms (for a diff) or 0 for cumulative figures. */
  windowMs: number;
}

/** Status classes counted per release: index = first digit − 1 (1xx … 5xx; anything else counts as 5xx). */
export const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'] as const;

/**
 * Upper bounds (seconds) of the Prometheus latency buckets, counted exactly at record time: the
 * log-linear buckets above do not fall on these bounds, so converting them would misplace the
 * observations of the bucket that straddles each bound.
 */
export const PROMETHEUS_LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
const PROMETHEUS_BOUNDS_MS = PROMETHEUS_LATENCY_BUCKETS.map((s) => s * 1000);

export class ReleaseStats {
  requests = 0;
  errors = 0;
  proxyErrors = 0;
  readonly latency = new LatencyHistogram();
  /** Requests per status class (STATUS_CLASSES). */
  readonly statusClasses = new Float64Array(STATUS_CLASSES.length);
  /** Requests per Prometheus bucket, not cumulative: [i] counts bound[i-1] < ms ≤ bound[i]; the last slot is above 10 s. */
  readonly prometheusBuckets = new Float64Array(PROMETHEUS_LATENCY_BUCKETS.length + 1);

  constructor(readonly release: string) {}

  record(status: number, ms: number, byProxy: boolean): void {
    this.requests++;
    if (status >= 500) {
      this.errors++;
      if (byProxy) this.proxyErrors++;
    }
    this.latency.record(ms);
    const cls = (status / 100) | 0;
    this.statusClasses[cls >= 1 && cls <= 5 ? cls - 1 : 4]!++;
    let b = 0;
    while (b < PROMETHEUS_BOUNDS_MS.length && ms > PROMETHEUS_BOUNDS_MS[b]!) b++;
    this.prometheusBuckets[b]!++;
  }

  snapshot(at: number): MetricsSnapshot {
    return {
      release: this.release,
      at,
      requests: this.requests,
      errors: this.errors,
      proxyErrors: this.proxyErrors,
      latencySumMs: this.latency.sumMs,
      latency: Float64Array.from(this.latency.buckets),
    };
  }

  metrics(): ReleaseMetrics {
    return {
      release: this.release,
      requests: this.requests,
      errors: this.errors,
      proxyErrors: this.proxyErrors,
      errorRate: this.requests === 0 ? 0 : this.errors / this.requests,
      p50Ms: this.latency.percentile(50),
      p99Ms: this.latency.percentile(99),
      meanMs: this.requests === 0 ? 0 : this.latency.sumMs / this.requests,
      windowMs: 0,
    };
  }
}

/** A release's cumulative figures in Prometheus's terms (a copy, taken at scrape time). */
export interface PrometheusFigures {
  /** Release key, `<namespace>/<service>@<version>`. */
  release: string;
  /** Requests per status class; 1xx only appears when some were counted. */
  codes: Partial<Record<(typeof STATUS_CLASSES)[number], number>>;
  /** Cumulative: [i] counts requests of at most PROMETHEUS_LATENCY_BUCKETS[i] seconds. */
  cumulativeBuckets: number[];
  count: number;
  sumSeconds: number;
}

export function prometheusFigures(stats: ReleaseStats): PrometheusFigures {
  const codes: PrometheusFigures['codes'] = {};
  STATUS_CLASSES.forEach((cls, i) => {
    if (cls !== '1xx' || stats.statusClasses[i]! > 0) codes[cls] = stats.statusClasses[i]!;
  });
  const cumulativeBuckets: number[] = [];
  let seen = 0;
  for (let i = 0; i < PROMETHEUS_LATENCY_BUCKETS.length; i++) {
    seen += stats.prometheusBuckets[i]!;
    cumulativeBuckets.push(seen);
  }
  return {
    release: stats.release,
    codes,
    cumulativeBuckets,
    count: stats.requests,
    sumSeconds: stats.latency.sumMs / 1000,
  };
}

/** An empty snapshot, for diffing against when a release had no traffic yet. */
export function emptySnapshot(release: string, at = 0): MetricsSnapshot {
  return {
    release,
    at,
    requests: 0,
    errors: 0,
    proxyErrors: 0,
    latencySumMs: 0,
    latency: new Float64Array(HISTOGRAM_BUCKETS),
  };
}

/** The metrics of the window between two snapshots of the same release (after − before). */
export function diffSnapshots(before: MetricsSnapshot, after: MetricsSnapshot): ReleaseMetrics {
  const requests = after.requests - before.requests;
  const errors = after.errors - before.errors;
  const buckets = new Float64Array(HISTOGRAM_BUCKETS);
  for (let i = 0; i < HISTOGRAM_BUCKETS; i++) buckets[i] = (after.latency[i] ?? 0) - (before.latency[i] ?? 0);
  return {
    release: after.release,
    requests,
    errors,
    proxyErrors: after.proxyErrors - before.proxyErrors,
    errorRate: requests === 0 ? 0 : errors / requests,
    p50Ms: percentileOf(buckets, 50),
    p99Ms: percentileOf(buckets, 99),
    meanMs: requests === 0 ? 0 : (after.latencySumMs - before.latencySumMs) / requests,
    windowMs: after.at - before.at,
  };
}
