import { describe, expect, it } from 'vitest';
import { computeFirstDeploys } from './first-deploy.ts';

const T0 = Date.parse('2026-11-02T00:00:00Z');
const M = 60_000;
const w = { from: T0, to: T0 + 30 * 86_400_000 };

describe('time to first deploy', () => {
  it('counts from the golden path task or the catalog, whichever came first, to the first healthy deploy', () => {
    const f = computeFirstDeploys(
      [
        // Made by a golden path at T0+10m, in the catalog at +11m, healthy at +40m: 30 min.
        {
          service: 'billing',
          team: 'payments',
          taskAt: T0 + 10 * M,
          catalogAt: T0 + 11 * M,
          firstHealthyAt: T0 + 40 * M,
        },
        // Registered by hand at +1 day, healthy 4 hours later.
        { service: 'ledger', team: 'payments', taskAt: null, catalogAt: T0 + 1440 * M, firstHealthyAt: T0 + 1680 * M },
        // Registered, no deploy yet: waiting.
        { service: 'notes', team: 'identity', taskAt: null, catalogAt: T0 + 5 * M, firstHealthyAt: null },
        // Appeared before the window: not a new service of this window.
        { service: 'old', team: 'identity', taskAt: null, catalogAt: T0 - M, firstHealthyAt: T0 + M },
      ],
      w,
    );
    expect(f.services).toEqual([
      { service: 'billing', team: 'payments', from: 'golden path', seconds: 1800 },
      { service: 'ledger', team: 'payments', from: 'catalog', seconds: 14_400 },
      { service: 'notes', team: 'identity', from: 'catalog', seconds: null },
    ]);
    expect(f).toMatchObject({ count: 2, medianSeconds: 8100, p90Seconds: 14_400, waiting: 1 });
  });
});
