import { describe, expect, it } from 'vitest';
import { computeEnvironments, type EnvironmentFact } from './environments.ts';
import { at, TWO_WEEKS as w14 } from './test-time.ts';

function env(p: Partial<EnvironmentFact> & Pick<EnvironmentFact, 'createdAt'>): EnvironmentFact {
  return {
    name: 'e',
    team: 'payments',
    kind: 'personal',
    readyAt: p.createdAt + 2_000,
    deletedAt: null,
    endedBy: null,
    ...p,
  };
}

describe('environment usage', () => {
  it('counts active, created and ended per week, hours per team and provisioning time', () => {
    const facts = [
      // Made before the window, still up: 14 days × 24 h inside it.
      env({ createdAt: at(-3) }),
      // Week 1: a personal environment reaped by its TTL after 1 day (1.5 s to provision).
      env({ createdAt: at(1), readyAt: at(1) + 1_500, deletedAt: at(2), endedBy: 'ttl' }),
      // Week 1: a preview deleted when its pull request closed, 12 hours (3 s to provision).
      env({
        kind: 'preview',
        team: 'identity',
        createdAt: at(3),
        readyAt: at(3) + 3_000,
        deletedAt: at(3, 12),
        endedBy: 'hand',
      }),
      // Week 2: failed and deleted without ever being ready.
      env({ createdAt: at(8), readyAt: null, deletedAt: at(8, 1), endedBy: 'hand' }),
      // Week 2: made 2 days before the end, still up (1 s to provision).
      env({ createdAt: at(12), readyAt: at(12) + 1_000 }),
      // After the window: not counted at all.
      env({ createdAt: at(20) }),
    ];
    const f = computeEnvironments(facts, w14);
    expect(f.activeNow).toBe(2);
    expect(f.created).toEqual({ total: 4, personal: 3, preview: 1 });
    expect(f.ended).toEqual({ total: 3, expired: 1, deleted: 2, expiredShare: 0.3333 });
    expect(f.weeks).toEqual([
      { week: '2026-11-02', created: 2, deleted: 1, expired: 1 },
      { week: '2026-11-09', created: 2, deleted: 1, expired: 0 },
    ]);
    // payments: 336 h + 24 h + 1 h + 48 h = 409 h; identity: 12 h.
    expect(f.hoursByTeam).toEqual([
      { team: 'payments', hours: 409 },
      { team: 'identity', hours: 12 },
    ]);
    // Provisioning times 1.5 s, 3 s, 1 s: median 1.5 s, p90 3 s; one never became ready.
    expect(f.provisioning).toEqual({ count: 3, medianSeconds: 1.5, p90Seconds: 3, failed: 1 });
  });

  it('answers an empty window with zeros and the window’s weeks', () => {
    const f = computeEnvironments([], w14);
    expect(f).toMatchObject({ activeNow: 0, created: { total: 0 }, ended: { total: 0, expiredShare: null } });
    expect(f.weeks.map((x) => x.week)).toEqual(['2026-11-02', '2026-11-09']);
  });
});
