import { describe, expect, it } from 'vitest';
import { computeAdoption } from './adoption.ts';
import { at, TWO_WEEKS } from './test-time.ts';

describe('adoption per team', () => {
  it('counts active users and commands by capability per week, services ready and deployed, teams not onboarded', () => {
    const usage = [
      { user: 'alice', team: 'payments', capability: 'environments', at: at(1, 9), count: 5 },
      { user: 'alice', team: 'payments', capability: 'deployments', at: at(2, 9), count: 3 },
      { user: 'bob', team: 'payments', capability: 'deployments', at: at(9, 9), count: 2 },
      // Outside the window, and a user with no team: not counted.
      { user: 'alice', team: 'payments', capability: 'secrets', at: at(20), count: 9 },
      { user: 'root', team: null, capability: 'catalog', at: at(3), count: 4 },
    ];
    const services = [
      { service: 'payments-api', team: 'payments', hasDeployYaml: true, deployed: true },
      { service: 'ledger', team: 'payments', hasDeployYaml: false, deployed: false },
      { service: 'users-api', team: 'identity', hasDeployYaml: true, deployed: false },
    ];
    const f = computeAdoption(usage, services, ['payments', 'identity', 'platform'], TWO_WEEKS);
    expect(f.teams.map((t) => t.team)).toEqual(['identity', 'payments', 'platform']);
    expect(f.teams[1]).toEqual({
      team: 'payments',
      activeUsers: 2,
      commands: 10,
      byCapability: { deployments: 5, environments: 5 },
      weeks: [
        { week: '2026-11-02', activeUsers: 1, commands: 8 },
        { week: '2026-11-09', activeUsers: 1, commands: 2 },
      ],
      services: { total: 2, withDeployYaml: 1, deployed: 1 },
      onboarded: true,
    });
    expect(f.teams[0]).toMatchObject({ activeUsers: 0, services: { total: 1, withDeployYaml: 1, deployed: 0 } });
    expect(f.notOnboarded).toEqual(['identity', 'platform']);
  });
});
