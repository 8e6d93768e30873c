import { describe, expect, it } from 'vitest';
import { allocate, IDLE, UNALLOCATED, type UsageFact } from './cost.ts';

const w = { from: Date.parse('2026-11-01T00:00:00Z'), to: Date.parse('2026-11-08T00:00:00Z') };
const model = { cpuCoreHour: 0.04, memoryGiBHour: 0.005, databaseGBMonth: 0.1, redisGBMonth: 3 };
const GIB = 2 ** 30;

function usage(p: Partial<UsageFact>): UsageFact {
  return {
    team: 'payments',
    service: 'payments-api',
    env: 'staging',
    namespace: 'payments-staging',
    minutes: 7 * 24 * 60,
    cpuCoreSeconds: 0,
    ramByteSeconds: 0,
    databaseByteSeconds: 0,
    redisByteSeconds: 0,
    ...p,
  };
}

describe('cost allocation', () => {
  it('prices measured usage with the cost model, per team, in OpenCost’s shape', () => {
    const facts = [
      // Half a core for the whole week: 84 core-hours × 0.04 = 3.36.
      // 1 GiB all week: 168 GiB-hours × 0.005 = 0.84.
      usage({ cpuCoreSeconds: 0.5 * 7 * 86_400, ramByteSeconds: GIB * 7 * 86_400 }),
      // A 2 GB database for the week: 2 GB × 7/30 month × 0.1 = 0.046667; Redis 0.1 GB: 0.1 × 7/30 × 3 = 0.07.
      usage({
        service: 'users-api',
        databaseByteSeconds: 2e9 * 7 * 86_400,
        redisByteSeconds: 1e8 * 7 * 86_400,
      }),
      // An environment with no team: unallocated when aggregating by team. 1 core-hour = 0.04.
      usage({ team: null, service: 'probe', env: 'alice-1', namespace: 'alice-1', minutes: 60, cpuCoreSeconds: 3600 }),
    ];
    const byTeam = allocate(facts, model, w, 'team');
    expect(byTeam).toEqual([
      {
        name: 'payments',
        window: { start: '2026-11-01T00:00:00.000Z', end: '2026-11-08T00:00:00.000Z' },
        minutes: 10_080,
        cpuCoreHours: 84,
        cpuCost: 3.36,
        ramByteHours: 168 * GIB,
        ramCost: 0.84,
        pvCost: 0.116667,
        totalCost: 4.316667,
      },
      expect.objectContaining({ name: UNALLOCATED, minutes: 60, cpuCoreHours: 1, cpuCost: 0.04, totalCost: 0.04 }),
    ]);
    const byService = allocate(facts, model, w, 'service').map((a) => [a.name, a.totalCost]);
    expect(byService).toEqual([
      ['payments-api', 4.2],
      ['users-api', 0.116667],
      ['probe', 0.04],
    ]);
  });

  it('shows capacity nothing used as __idle__ when the capacity is known', () => {
    const facts = [usage({ cpuCoreSeconds: 7 * 86_400 })]; // one core all week
    const rows = allocate(facts, model, w, 'namespace', { cpuCores: 2, memoryBytes: 4 * GIB });
    const idle = rows.find((r) => r.name === IDLE)!;
    // 2 cores × 168 h − 168 used = 168 idle core-hours; 4 GiB × 168 h idle (nothing measured).
    expect(idle).toMatchObject({ cpuCoreHours: 168, cpuCost: 6.72, ramByteHours: 4 * GIB * 168, ramCost: 3.36 });
    expect(idle.totalCost).toBe(10.08);
  });

  it('answers a window with no usage with no rows', () => {
    expect(allocate([], model, w, 'env')).toEqual([]);
  });
});
