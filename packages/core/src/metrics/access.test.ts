import { describe, expect, it } from 'vitest';
import { computeAccess, type AccessFact } from './access.ts';
import { at, TWO_WEEKS as w14 } from './test-time.ts';

function req(p: Partial<AccessFact> & Pick<AccessFact, 'createdAt'>): AccessFact {
  return {
    id: 'r',
    requester: 'user:default/alice',
    team: 'payments',
    approved: true,
    autoApproved: false,
    decidedAt: null,
    expiresAt: null,
    revokedAt: null,
    firstUsedAt: null,
    ...p,
  };
}

describe('access requests', () => {
  it('counts requests per week, the share approved at once, time to a person’s decision and unused grants', () => {
    const facts = [
      // Auto-approved, used, expired: not unused.
      req({
        id: 'a',
        createdAt: at(1),
        autoApproved: true,
        decidedAt: at(1),
        expiresAt: at(1, 8),
        firstUsedAt: at(1, 1),
      }),
      // Auto-approved, never used, expired in the window: unused.
      req({ id: 'b', createdAt: at(2), autoApproved: true, decidedAt: at(2), expiresAt: at(2, 4) }),
      // Approved by a person after 30 min, never used, revoked before it ran out: not "expired unused".
      req({ id: 'c', createdAt: at(3), decidedAt: at(3) + 1_800_000, expiresAt: at(4), revokedAt: at(3, 5) }),
      // Denied after 2 hours.
      req({ id: 'd', createdAt: at(9), approved: false, decidedAt: at(9, 2) }),
      // Waiting at the end of the window.
      req({ id: 'e', createdAt: at(13, 23) }),
    ];
    const f = computeAccess(facts, w14);
    expect(f.requests).toEqual({ total: 5, autoApproved: 2, autoApprovedShare: 0.4, pending: 1 });
    expect(f.weeks).toEqual([
      { week: '2026-11-02', requests: 3, autoApproved: 2 },
      { week: '2026-11-09', requests: 2, autoApproved: 0 },
    ]);
    expect(f.decision).toEqual({ count: 2, medianSeconds: (1800 + 7200) / 2, p90Seconds: 7200 });
    expect(f.expiredUnused).toEqual({ count: 1, ids: ['b'] });
  });
});
