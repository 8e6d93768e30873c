import { describe, expect, it } from 'vitest';
import { diffSnapshots, LatencyHistogram, ReleaseStats } from './metrics.ts';

describe('latency histogram and release metrics', () => {
  it('gives percentiles within the bucket precision', () => {
    const histogram = new LatencyHistogram();
    for (let i = 1; i <= 1000; i++) histogram.record(i / 10); // 0.1 .. 100 ms
    expect(histogram.percentile(50)).toBeGreaterThan(50 * 0.93);
    expect(histogram.percentile(50)).toBeLessThan(50 * 1.07);
    expect(histogram.percentile(99)).toBeGreaterThan(99 * 0.93);
    expect(histogram.percentile(99)).toBeLessThan(99 * 1.07);
    expect(new LatencyHistogram().percentile(99)).toBe(0);
    const extremes = new LatencyHistogram();
    extremes.record(0);
    extremes.record(10_000_000); // beyond the range: lands in the last bucket
    expect(extremes.percentile(100)).toBeGreaterThan(1_000_000);
  });

  it('diffs two cumulative snapshots into a window', () => {
    const stats = new ReleaseStats('svc@v2');
    for (let i = 0; i < 100; i++) stats.record(200, 100, false); // slow, before the window
    const before = stats.snapshot(1000);
    for (let i = 0; i < 98; i++) stats.record(200, 1, false);
    stats.record(500, 1, false);
    stats.record(502, 1, true);
    const window = diffSnapshots(before, stats.snapshot(6000));
    expect(window).toMatchObject({
      release: 'svc@v2',
      requests: 100,
      errors: 2,
      proxyErrors: 1,
      errorRate: 0.02,
      windowMs: 5000,
    });
    expect(window.p99Ms).toBeLessThan(1.1);
    expect(window.meanMs).toBeCloseTo(1, 5);
    expect(stats.metrics()).toMatchObject({ requests: 200, errors: 2, windowMs: 0 });
    expect(stats.metrics().p99Ms).toBeGreaterThan(90);
  });
});
