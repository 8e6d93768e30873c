import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { serviceRepo, waitForDeployment, type ServiceRepo } from '../support/deploy.ts';
import { envFixture, storesAvailable, waitForEnvironment, type EnvFixture } from '../support/environments.ts';
import { startScrapedPrometheus, type ScrapedPrometheus } from '../support/prometheus.ts';
import { api, startTestServer, type TestServer } from '../support/server.ts';
import { canaryYaml, releaseTinyService } from '../support/tiny-service.ts';
import { userTokens } from '../support/tokens.ts';

// Dashboards as code against a real Prometheus (scraping, every second, an exporter of the
// platform's metric names for two teams' services) and a real deployment: the golden-signal
// dashboard every service gets, a config dashboard another team sees through a view's glob, a
// dashboard shipped in payments-api's release (and a broken one, reported), each panel's data
// run through the query gate as the viewer.

const ok = await storesAvailable();

let scrapes = 0;
/** Counters that grow with every scrape, so rates are above zero; identity's series carry a marker. */
function exposition(): string {
  scrapes++;
  const stamp = (team: string, service: string) =>
    `team="${team}",service="${service}",env="staging",namespace="staging",release="v1"`;
  const lines: string[] = [];
  for (const [team, service, ok2xx, err5xx] of [
    ['payments', 'payments-api', 10, 1],
    ['identity', 'identity-api', 7, 3],
  ] as const) {
    const s = stamp(team, service);
    lines.push(`idp_proxy_requests_total{${s},code="2xx"} ${scrapes * ok2xx}`);
    lines.push(`idp_proxy_requests_total{${s},code="5xx"} ${scrapes * err5xx}`);
    for (const [le, share] of [
      ['0.05', 0.5],
      ['0.5', 0.9],
      ['+Inf', 1],
    ] as const) {
      lines.push(`idp_proxy_request_duration_seconds_bucket{${s},le="${le}"} ${Math.round(scrapes * 100 * share)}`);
    }
    lines.push(`idp_replica_up{${s},replica="1"} 1`);
    lines.push(`idp_replica_restarts_total{${s},replica="1"} 0`);
    lines.push(`idp_replica_cpu_seconds_total{${s},replica="1"} ${scrapes * 0.25}`);
    lines.push(`idp_replica_resident_memory_bytes{${s},replica="1"} ${team === 'payments' ? 50e6 : 77e6}`);
  }
  return `${lines.join('\n')}\n`;
}

const REPO_DASHBOARD = `name: payments-api-requests
title: Payments API requests by code
panels:
  - title: Requests by code
    query: sum by (code) (rate(idp_proxy_requests_total{service="$service",env="$env"}[1m]))
    unit: req/s
    legend: "{{code}}"
  - title: Everything this query can see
    query: count by (team) (idp_proxy_requests_total)
    unit: count
    legend: "{{team}}"
`;

const BROKEN_DASHBOARD = `name: payments-api-broken
panels:
  - title: Oops
    query: sum(rate(idp_proxy_requests_total[1m])
    unit: req/s
`;

describe.skipIf(!ok)('dashboards as code: generated, config and repository dashboards with scoped data', () => {
  let prom: ScrapedPrometheus;
  let fx: EnvFixture;
  let server: TestServer;
  let t: Record<string, string>;
  let repo: ServiceRepo;
  let env: string;
  const get = (token: string, path: string) => api(server, token, 'GET', `/api/observability/dashboards${path}`);

  beforeAll(async () => {
    prom = await startScrapedPrometheus(exposition);
    await vi.waitFor(
      async () => {
        const body = (await (await fetch(`${prom.url}/api/v1/query?query=count(idp_replica_up)`)).json()) as any;
        expect(body.data?.result?.[0]?.value?.[1]).toBe('2');
      },
      { timeout: 30_000, interval: 200 },
    );
    fx = envFixture(`observability:
  prometheus:
    url: ${prom.url}
  teams:
    - name: identity
      views:
        dashboards: ["payments-slo*"]
  dashboards:
    - name: payments-slo
      team: payments
      title: Payments SLO
      panels:
        - title: 5xx share
          query: sum(rate(idp_proxy_requests_total{code="5xx",env="$env"}[1m])) / sum(rate(idp_proxy_requests_total{env="$env"}[1m]))
          unit: ratio
    - name: platform-traffic
      panels:
        - title: Requests by team
          query: sum by (team) (rate(idp_proxy_requests_total{env="$env"}[1m]))
          unit: req/s
          legend: "{{team}}"
        - title: Parses, but Prometheus refuses it
          query: rate(sum(idp_proxy_requests_total{env="$env"}))
          unit: req/s
`);
    server = await startTestServer({ configPath: fx.configPath, environmentTimers: false });
    t = await userTokens(server, ['alice', 'dave']);
    env = fx.envName('dash');
    const created = await api(server, t.alice!, 'POST', '/api/environments', { name: env, from: 'cache' });
    expect(created.status, created.text).toBe(202);
    await waitForEnvironment(server, t.alice!, env, ['ready'], { failOn: ['failed'] });
    repo = serviceRepo({ prefix: 'idp-dash-repo-' });
    repo.write('.idp/dashboards/requests.yaml', REPO_DASHBOARD);
    repo.write('.idp/dashboards/broken.yaml', BROKEN_DASHBOARD);
    const released = await releaseTinyService(server, t.alice!, repo, canaryYaml('    - weight: 100'));
    expect(released.status, released.text).toBe(201);
    const res = await api(server, t.alice!, 'POST', '/api/deployments', {
      service: 'payments-api',
      env,
      version: released.json.version,
    });
    expect(res.status, res.text).toBe(202);
    expect((await waitForDeployment(server, t.alice!, res.json.id)).status).toBe('healthy');
  }, 180_000);

  afterAll(async () => {
    if (server && env) await api(server, t.alice!, 'DELETE', `/api/environments/${env}`);
    await server?.services.environments.idle();
    await server?.stop();
    await fx?.cleanup();
    await prom?.stop();
    repo?.remove();
  });

  it("lists each user's dashboards: alice payments' (generated, config, repository), dave identity's and the view's", async () => {
    const alice = await get(t.alice!, '');
    expect(alice.status, alice.text).toBe(200);
    const names = alice.json.items.map((i: any) => i.name);
    expect(names).toEqual(
      expect.arrayContaining(['payments-api', 'payments-api-requests', 'payments-slo', 'platform-traffic']),
    );
    expect(names).not.toContain('users-api');
    expect(names).not.toContain('payments-api-broken');
    expect(alice.json.items.find((i: any) => i.name === 'payments-api')).toEqual({
      name: 'payments-api',
      title: 'payments-api: golden signals',
      team: 'payments',
      source: 'generated',
      service: 'payments-api',
      panels: 8,
    });
    expect(alice.json.items.find((i: any) => i.name === 'payments-api-requests')).toMatchObject({
      source: 'repository',
      team: 'payments',
      service: 'payments-api',
    });
    // The broken file is reported to its team with its position, not served.
    const broken = alice.json.problems.find((p: any) => p.file === '.idp/dashboards/broken.yaml');
    expect(broken).toMatchObject({
      code: 'OBSERVABILITY_DASHBOARD_INVALID',
      source: 'repository',
      service: 'payments-api',
      line: 4,
      field: 'panels[0].query',
    });
    expect(broken.message).toMatch(/parse error/);

    const dave = await get(t.dave!, '');
    const daveNames = dave.json.items.map((i: any) => i.name);
    expect(daveNames).toEqual(
      expect.arrayContaining(['users-api', 'auth-service', 'payments-slo', 'platform-traffic']),
    );
    for (const hidden of ['payments-api', 'payments-api-requests']) expect(daveNames).not.toContain(hidden);
    expect(dave.json.problems).toBeUndefined();
  });

  it("answers alice's golden-signal dashboard with payments-api's data in every panel", async () => {
    const panels = await vi.waitFor(
      async () => {
        const res = await get(t.alice!, '/payments-api?env=staging&since=5m&points=30');
        expect(res.status, res.text).toBe(200);
        const traffic = res.json.panels[0];
        expect(traffic.series[0]?.last).toBeGreaterThan(0);
        return res.json.panels as any[];
      },
      { timeout: 30_000, interval: 500 },
    );
    const by = Object.fromEntries(panels.map((p) => [p.title, p]));
    expect(Object.keys(by)).toEqual([
      'Traffic',
      'Errors (5xx share)',
      'Latency p50',
      'Latency p99',
      'Replicas up',
      'Restarts (per 5 min)',
      'CPU',
      'Memory (resident)',
    ]);
    for (const p of panels) expect(p.error, p.title).toBeUndefined();
    expect(by.Traffic.query).toBe(
      'sum by (release) (rate(idp_proxy_requests_total{service="payments-api",env="staging"}[1m]))',
    );
    expect(by.Traffic.series[0].name).toBe('v1');
    expect(by.Traffic.series[0].points).toHaveLength(31);
    expect(by['Errors (5xx share)'].series[0].last).toBeCloseTo(1 / 11, 2);
    expect(by['Latency p50'].series[0].last).toBeLessThanOrEqual(0.05);
    expect(by['Replicas up'].series[0].last).toBe(1);
    expect(by['Memory (resident)'].series[0].last).toBe(50e6);
    expect(by.CPU.unit).toBe('cores');
  });

  it("runs a repository dashboard's panels as the viewer: a query naming no team still reads only payments'", async () => {
    const res = await vi.waitFor(
      async () => {
        const r = await get(t.alice!, '/payments-api-requests?env=staging&since=5m');
        expect(r.status, r.text).toBe(200);
        expect(r.json.panels[0].series.length).toBe(2);
        return r;
      },
      { timeout: 30_000, interval: 500 },
    );
    expect(res.json.panels[0].series.map((s: any) => s.name).sort()).toEqual(['2xx', '5xx']);
    expect(res.json.panels[1].series.map((s: any) => s.name)).toEqual(['payments']);
    expect(res.text).not.toMatch(/identity/);
  });

  it("shows dave the config dashboard his view selects, with his own team's data only", async () => {
    const res = await vi.waitFor(
      async () => {
        const r = await get(t.dave!, '/platform-traffic?env=staging&since=5m');
        expect(r.status, r.text).toBe(200);
        expect(r.json.panels[0].series.length).toBe(1);
        return r;
      },
      { timeout: 30_000, interval: 500 },
    );
    expect(res.json.panels[0].series[0].name).toBe('identity');
    // One panel's error does not fail the others.
    expect(res.json.panels[1]).toMatchObject({ series: [], error: { code: 'OBSERVABILITY_QUERY_INVALID' } });
    expect(res.json.panels[1].error.message).toMatch(/range vector/);
    const slo = await get(t.dave!, '/payments-slo?env=staging&since=5m');
    expect(slo.status, slo.text).toBe(200);
    expect(slo.json).toMatchObject({ team: 'payments', source: 'config', env: 'staging' });
    expect(slo.json.panels[0].series[0].last).toBeCloseTo(3 / 10, 2);
  });

  it('answers 404 alike for a dashboard dave may not see and one that does not exist; refuses a bad env', async () => {
    const hidden = await get(t.dave!, '/payments-api?env=staging');
    const missing = await get(t.dave!, '/no-such-dashboard?env=staging');
    expect(hidden.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(hidden.json.error.code).toBe('OBSERVABILITY_DASHBOARD_NOT_FOUND');
    expect(missing.json.error.code).toBe('OBSERVABILITY_DASHBOARD_NOT_FOUND');
    expect(hidden.json.error.message).toBe('no dashboard "payments-api"');
    const injected = await get(t.alice!, `/payments-api?env=${encodeURIComponent('staging"} or up{x="')}`);
    expect(injected.status).toBe(400);
    expect(injected.json.error).toMatchObject({ code: 'VALIDATION_FAILED', details: { field: 'env' } });
    expect((await get(t.alice!, '/payments-api')).status).toBe(400);
    // Longer than observability.query.maxRange (31d): the request's fault, one 422.
    const tooLong = await get(t.alice!, '/payments-api?env=staging&since=40d');
    expect(tooLong.status, tooLong.text).toBe(422);
    expect(tooLong.json.error.code).toBe('OBSERVABILITY_QUERY_TOO_LARGE');
    expect((await api(server, null, 'GET', '/api/observability/dashboards')).status).toBe(401);
  });

  it('answers 503 when Prometheus answers no panel', async () => {
    await prom.stop();
    const res = await get(t.alice!, '/payments-api?env=staging');
    expect(res.status, res.text).toBe(503);
    expect(res.json.error.code).toBe('OBSERVABILITY_UNAVAILABLE');
    expect((await get(t.alice!, '')).status).toBe(200);
  });
});
