import { describe, expect, it } from 'vitest';
import { PROMETHEUS_LATENCY_BUCKETS, prometheusFigures, ReleaseStats } from './metrics.ts';

describe('prometheusFigures', () => {
  it('counts status classes and exact cumulative latency buckets', () => {
    const stats = new ReleaseStats('ns/svc@v1');
    stats.record(200, 4, false); // ≤ 0.005
    stats.record(204, 5, false); // exactly on the bound: ≤ 0.005
    stats.record(302, 5.01, false); // ≤ 0.01
    stats.record(404, 700, false); // ≤ 1
    stats.record(503, 20_000, true); // above 10 s: only +Inf
    const figures = prometheusFigures(stats);
    expect(figures.codes).toEqual({ '2xx': 2, '3xx': 1, '4xx': 1, '5xx': 1 });
    expect(figures.count).toBe(5);
    expect(figures.sumSeconds).toBeCloseTo((4 + 5 + 5.01 + 700 + 20_000) / 1000, 9);
    const le = (bound: number) => figures.cumulativeBuckets[PROMETHEUS_LATENCY_BUCKETS.indexOf(bound as never)];
    expect(le(0.005)).toBe(2);
    expect(le(0.01)).toBe(3);
    expect(le(0.5)).toBe(3);
    expect(le(1)).toBe(4);
    expect(le(10)).toBe(4);
    for (let i = 1; i < figures.cumulativeBuckets.length; i++)
      expect(figures.cumulativeBuckets[i]).toBeGreaterThanOrEqual(figures.cumulativeBuckets[i - 1]!);
  });

  it('shows 1xx only when an upgrade was counted', () => {
    const stats = new ReleaseStats('ns/svc@v1');
    stats.record(200, 1, false);
    expect(prometheusFigures(stats).codes['1xx']).toBeUndefined();
    stats.record(101, 1, false);
    expect(prometheusFigures(stats).codes['1xx']).toBe(1);
  });
});
