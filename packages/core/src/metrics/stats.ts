// Small statistics the platform metrics share: percentiles as people compute them by hand, and a
// window cut into whole weeks or months.

export const DAY_MS = 86_400_000;
export const WEEK_MS = 7 * DAY_MS;
/** A "month" of the metrics: 30 days (windows are counted in days, not calendar months). */
export const MONTH_MS = 30 * DAY_MS;

/** A time window [from, to) in epoch milliseconds. */
export interface Window {
  from: number;
  to: number;
}

/** The median: the middle value, or the mean of the two middle values; null for no values. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** The nearest-rank percentile (p in 0..100): the smallest value with p% of values at or below it. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

/**
 * The window cut into buckets of `size` from its start: as many whole buckets as fit (at least
 * one), the last one stretched to the window's end, so a 30-day window has 4 weeks, the last of 9
 * days. Returns each bucket's start; a time t belongs to bucket `bucketOf(t)`.
 */
export function buckets(w: Window, size: number): { count: number; bucketOf: (t: number) => number } {
  const count = Math.max(1, Math.floor((w.to - w.from) / size));
  return { count, bucketOf: (t) => Math.min(count - 1, Math.floor((t - w.from) / size)) };
}

export function inWindow(t: number | null, w: Window): t is number {
  return t !== null && t >= w.from && t < w.to;
}

/** A share (0..1) rounded to 4 places; null when there is nothing to divide. */
export function share(part: number, whole: number): number | null {
  return whole === 0 ? null : Math.round((part / whole) * 10_000) / 10_000;
}
