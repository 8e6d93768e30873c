import { describe, expect, it } from 'vitest';
import { computeDora, computeDoraBy, type DeployFact } from './dora.ts';
import { DAY_MS } from './stats.ts';

const T0 = Date.parse('2026-11-02T00:00:00Z'); // a Monday
const H = 3_600_000;
const at = (day: number, hour = 12) => T0 + day * DAY_MS + hour * H;

let n = 0;
function fact(p: Partial<DeployFact> & Pick<DeployFact, 'createdAt'>): DeployFact {
  return {
    id: `d${++n}`,
    service: 'payments-api',
    team: 'payments',
    env: 'production',
    tier: 'production',
    kind: 'deploy',
    status: 'healthy',
    finishedAt: p.createdAt + 10 * 60_000,
    commitAt: null,
    servedTraffic: true,
    ...p,
  };
}

const window28 = { from: T0, to: T0 + 28 * DAY_MS, productionTiers: ['production'], failureWindowMs: DAY_MS };

describe('DORA four keys', () => {
  it('counts the change failure rate over production deploys that reached users, rollbacks by hand included', () => {
    const facts = [
      // 1: healthy, then rolled back by hand 2 hours later → a failed change.
      fact({ id: 'hand', createdAt: at(1), commitAt: at(1, 10) }),
      fact({ id: 'rb', kind: 'rollback', createdAt: at(1, 14), finishedAt: at(1, 14) + 60_000 }),
      // 2: the canary rolled back by itself → failed.
      fact({ id: 'auto', createdAt: at(3), status: 'rolled_back' }),
      // 3: healthy; a rollback 3 days later is outside the 1-day failure window → not failed.
      fact({ id: 'late', createdAt: at(5) }),
      fact({ kind: 'rollback', createdAt: at(8), finishedAt: at(8) + 60_000 }),
      // 4: the build failed: never reached users → in no rate.
      fact({ id: 'build', createdAt: at(9), status: 'failed', servedTraffic: false }),
      // 5: staging deploys fail too, but only production counts.
      fact({ env: 'staging', tier: 'staging', createdAt: at(10), status: 'rolled_back' }),
      // 6, 7: healthy production deploys.
      fact({ createdAt: at(12), commitAt: at(11) }),
      fact({ createdAt: at(20), commitAt: at(20, 11) }),
    ];
    const d = computeDora(facts, window28);
    // Production deploys that reached users: hand, auto, late, 12, 20 = 5; failed: hand, auto.
    expect(d.changeFailure).toEqual({ failed: 2, total: 5, rate: 0.4, failedIds: ['hand', 'auto'] });
    expect(d.notServed).toBe(1);
  });

  it('measures time to restore from the failing deploy’s start to the next healthy state', () => {
    const facts = [
      // Rolled back by itself after 10 minutes: restored when it ended → 600 s.
      fact({ createdAt: at(2), status: 'rolled_back' }),
      // Healthy at 12:10, rolled back by hand at 15:00, the rollback healthy at 15:02 → 3 h 2 min.
      fact({ createdAt: at(4) }),
      fact({ kind: 'rollback', createdAt: at(4, 15), finishedAt: at(4, 15) + 120_000 }),
      // Failed with traffic; the next healthy deploy came a day later → open until then.
      fact({ createdAt: at(6), status: 'failed' }),
      fact({ createdAt: at(7), status: 'failed', servedTraffic: false }),
      fact({ createdAt: at(7, 12) }),
      // Failed at the end of the window and nothing healthy since → open.
      fact({ createdAt: at(27, 20), status: 'failed' }),
    ];
    const d = computeDora(facts, window28);
    expect(d.changeFailure.failed).toBe(4);
    // 600 s, 3 h 2 min = 10,920 s, 1 day + 10 min = 87,000 s.
    expect(d.timeToRestore).toEqual({ count: 3, medianSeconds: 10_920, p90Seconds: 87_000, open: 1 });
  });

  it('gives lead time as median and p90 of commit → healthy on production', () => {
    const leads = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((h, i) =>
      fact({ createdAt: at(i + 1), commitAt: at(i + 1) + 10 * 60_000 - h * H }),
    );
    // A staging deploy's lead time does not count; neither does a deploy with no known commit.
    leads.push(fact({ env: 'staging', tier: 'staging', createdAt: at(15), commitAt: at(1) }));
    leads.push(fact({ createdAt: at(16) }));
    const d = computeDora(leads, window28);
    expect(d.leadTime).toEqual({ count: 10, medianSeconds: 5.5 * 3600, p90Seconds: 9 * 3600 });
  });

  it('bands deployment frequency from the median week as Four Keys does', () => {
    // Week 1: deploys on Mon, Tue, Wed (3 days); week 2: 3 days; week 3: 1 day; week 4: none.
    const days = [0, 1, 2, 7, 8, 9, 9, 15];
    const daily = computeDora(
      days.map((d) => fact({ createdAt: at(d) })),
      window28,
    );
    // Weeks: [3 days, 3 days, 1 day, 0] → median 2 days: not daily. Counts [3, 4, 1, 0] → median 2: weekly.
    expect(daily.deploymentFrequency).toEqual({
      count: 8,
      perWeek: 2,
      medianPerWeek: 2,
      medianDaysPerWeek: 2,
      band: 'weekly',
    });
    const threeDaysEveryWeek = [0, 1, 2, 7, 8, 9, 14, 15, 16, 21, 22, 23].map((d) => fact({ createdAt: at(d) }));
    expect(computeDora(threeDaysEveryWeek, window28).deploymentFrequency.band).toBe('daily');
    const oneInTheWindow = computeDora([fact({ createdAt: at(3) })], window28);
    expect(oneInTheWindow.deploymentFrequency.band).toBe('monthly');
    const ninetyDays = { ...window28, to: T0 + 90 * DAY_MS };
    expect(computeDora([fact({ createdAt: at(3) })], ninetyDays).deploymentFrequency.band).toBe('yearly');
    expect(computeDora([], window28).deploymentFrequency).toMatchObject({ count: 0, band: 'none' });
  });

  it('answers an empty window with zeros, not an error', () => {
    const d = computeDora([fact({ createdAt: at(40) })], window28);
    expect(d).toEqual({
      deploymentFrequency: { count: 0, perWeek: 0, medianPerWeek: 0, medianDaysPerWeek: 0, band: 'none' },
      leadTime: { count: 0, medianSeconds: null, p90Seconds: null },
      changeFailure: { failed: 0, total: 0, rate: null, failedIds: [] },
      timeToRestore: { count: 0, medianSeconds: null, p90Seconds: null, open: 0 },
      notServed: 0,
    });
  });

  it('splits by team, service or tier; frequency counts every tier, the rates production only', () => {
    const facts = [
      fact({ createdAt: at(1) }),
      fact({ createdAt: at(2), status: 'rolled_back' }),
      fact({ env: 'staging', tier: 'staging', createdAt: at(3) }),
      fact({ team: 'identity', service: 'users-api', createdAt: at(4) }),
    ];
    const byTier = computeDoraBy(facts, window28, (f) => f.tier);
    expect([...byTier.keys()]).toEqual(['production', 'staging']);
    expect(byTier.get('staging')!.deploymentFrequency.count).toBe(1);
    expect(byTier.get('staging')!.changeFailure.total).toBe(0);
    const byTeam = computeDoraBy(facts, window28, (f) => f.team);
    expect(byTeam.get('payments')!.changeFailure).toMatchObject({ failed: 1, total: 2, rate: 0.5 });
    expect(byTeam.get('identity')!.changeFailure).toMatchObject({ failed: 0, total: 1, rate: 0 });
  });
});
