import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Principal } from '@idp/contracts';
import { OBSERVABILITY_DEFAULTS } from '../../config/index.ts';
import { QueryGate, SCOPE_CACHE_MS } from './query-gate.ts';

// The caller's scope is worked out once per SCOPE_CACHE_MS: the label-values call to Prometheus and
// the policy decisions are not repeated for every query. Prometheus's label-values endpoint is
// stood in for by a local HTTP server that records its calls (the real one is in the e2e test).

const alice: Principal = { ref: 'user:default/alice', teams: ['payments'], roles: [] } as unknown as Principal;
const admin: Principal = { ref: 'user:default/pat', teams: ['platform'], roles: ['admin'] } as unknown as Principal;

describe('QueryGate scope cache', () => {
  let prometheus: Server;
  let url = '';
  let calls = 0;
  let failing = false;
  beforeAll(async () => {
    prometheus = createServer((req, res) => {
      calls++;
      res.statusCode = failing ? 503 : 200;
      res.setHeader('content-type', 'application/json');
      res.end(failing ? '{"status":"error"}' : JSON.stringify({ status: 'success', data: ['staging', 'production'] }));
    });
    await new Promise<void>((resolve) => prometheus.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(prometheus.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => prometheus.close(() => resolve())));

  function gate(now: { t: number }, decisions: string[]) {
    return new QueryGate({
      prometheusUrl: () => url,
      limits: OBSERVABILITY_DEFAULTS.query,
      now: () => now.t,
      mayReadTeamsIn: async (_ref, _teams, env) => {
        decisions.push(env);
        return env === 'staging';
      },
    });
  }

  it('reuses a scope within the window and works it out again after', async () => {
    const now = { t: 1_000_000 };
    const decisions: string[] = [];
    const g = gate(now, decisions);
    calls = 0;
    const first = await g.scopeFor(alice);
    expect(first).toEqual({
      matchers: [
        { label: 'team', values: ['payments'] },
        { label: 'env', values: ['staging'] },
      ],
    });
    now.t += SCOPE_CACHE_MS - 1;
    expect(await g.scopeFor(alice)).toEqual(first);
    expect([calls, decisions.length]).toEqual([1, 2]);
    now.t += 1;
    await g.scopeFor(alice);
    expect([calls, decisions.length]).toEqual([2, 4]);
  });

  it('keeps scopes apart per user and set of teams; admins need none', async () => {
    const now = { t: 0 };
    const g = gate(now, []);
    calls = 0;
    await g.scopeFor(alice);
    await g.scopeFor({ ...alice, teams: ['payments', 'identity'] } as Principal);
    await g.scopeFor({ ...alice, ref: 'user:default/bob' } as Principal);
    expect(calls).toBe(3);
    expect(await g.scopeFor(admin)).toEqual({ all: true });
    expect(calls).toBe(3);
  });

  it('does not remember a scope it could not work out', async () => {
    const now = { t: 0 };
    const g = gate(now, []);
    calls = 0;
    failing = true;
    await expect(g.scopeFor(alice)).rejects.toMatchObject({ code: 'OBSERVABILITY_UNAVAILABLE' });
    failing = false;
    expect(await g.scopeFor(alice)).toMatchObject({ matchers: [{ label: 'team' }, { label: 'env' }] });
    expect(calls).toBe(2);
  });
});
