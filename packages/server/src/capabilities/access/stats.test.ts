import { describe, expect, it } from 'vitest';
import { accessStats, percentile } from './stats.ts';

describe('access stats', () => {
  it('nearest-rank percentiles', () => {
    expect(percentile([], 0.5)).toBeNull();
    expect(percentile([5], 0.9)).toBe(5);
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9)).toBe(9);
  });

  it('counts outcomes, the auto-approved share of decided requests and decision times', () => {
    const t0 = '2030-01-01T00:00:00.000Z';
    const at = (s: number) => new Date(Date.parse(t0) + s * 1000).toISOString();
    const stats = accessStats(
      [
        { status: 'approved', autoApproved: true, createdAt: t0, decidedAt: t0 },
        { status: 'expired', autoApproved: true, createdAt: t0, decidedAt: t0 },
        { status: 'approved', autoApproved: false, createdAt: t0, decidedAt: at(600) },
        { status: 'denied', autoApproved: false, createdAt: t0, decidedAt: at(60) },
        { status: 'pending', autoApproved: false, createdAt: t0, decidedAt: null },
        { status: 'revoked', autoApproved: false, createdAt: t0, decidedAt: null },
      ],
      null,
    );
    expect(stats.total).toBe(6);
    expect(stats.byOutcome).toEqual({ pending: 1, approved: 2, denied: 1, expired: 1, revoked: 1 });
    expect(stats.autoApproved).toBe(2);
    expect(stats.autoApprovedShare).toBe(0.5);
    expect(stats.decisionTime).toEqual({ count: 4, medianSeconds: 0, p90Seconds: 600 });
    expect(stats.manualDecisionTime).toEqual({ count: 2, medianSeconds: 60, p90Seconds: 600 });
  });
});
