import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { envFixture, storesAvailable, waitForEnvironment, type EnvFixture } from '../support/environments.ts';
import { proxyTraffic, serviceRepo, waitForDeployment, type ServiceRepo, type Traffic } from '../support/deploy.ts';
import { hostileCorpus } from '../support/promql-corpus.ts';
import { api, startTestServer, type TestServer } from '../support/server.ts';
import { releaseTinyService } from '../support/tiny-service.ts';
import { userTokens } from '../support/tokens.ts';

// The observability demo, all real: a control plane with its managed Prometheus (1 s scrapes),
// two teams' demo services deployed into an environment of each team's, traffic through the edge
// proxy, then what each team reads through the query gate and the logs API. alice (payments)
// reads payments' services only, dave (identity) identity's only, an admin both; a hostile corpus
// of PromQL, /labels, /label/…/values and /series leak nothing of the other team; the replicas'
// own metrics are there, stamped by the platform.

const PROMETHEUS_YAML = `observability:
  prometheus:
    listen: 127.0.0.1:0
    scrapeInterval: 1s
`;

/** Logs each request it serves (so the replicas' logs have lines), answers its version. */
const LOGGING_SERVER_JS = `require('http').createServer((q, s) => { console.log('served ' + q.method + ' ' + q.url); s.setHeader('content-type', 'application/json'); s.end(JSON.stringify({ version: process.env.IDP_RELEASE_VERSION })); }).listen(process.env.PORT);\n`;

const deployYaml = (service: string, team: string, replicas: number) => `service: {name: ${service}, team: ${team}}
run: {command: node server.js, replicas: ${replicas}}
deploy:
  healthcheck: {path: /health, interval: 1s, threshold: 3}
`;

interface Team {
  user: 'alice' | 'dave';
  team: 'payments' | 'identity';
  /** The team's demo services (catalog owners), with their replica counts. */
  services: Record<string, number>;
  env: string;
  namespace: string;
  versions: Record<string, string>;
}

const ok = await storesAvailable();

describe.skipIf(!ok)('observability demo: each team reads its own services, an admin reads all', () => {
  let fx: EnvFixture;
  let server: TestServer;
  let t: Record<string, string>;
  let traffic: Traffic[] = [];
  const repos: ServiceRepo[] = [];
  const payments: Team = {
    user: 'alice',
    team: 'payments',
    services: { 'payments-api': 2, 'notifications-service': 1 },
    env: '',
    namespace: '',
    versions: {},
  };
  const identity: Team = {
    user: 'dave',
    team: 'identity',
    services: { 'users-api': 1, 'auth-service': 1 },
    env: '',
    namespace: '',
    versions: {},
  };
  const other = (x: Team) => (x === payments ? identity : payments);
  /** What only the other team's series hold: its services' names, its environment and namespace. */
  const secretsOf = (x: Team) => [...Object.keys(x.services), x.env, x.namespace];

  const gate = async (token: string, path: string, init: RequestInit = {}) => {
    const res = await fetch(`${server.url}/api/observability${path}`, {
      ...init,
      headers: { authorization: `Bearer ${token}`, ...(init.headers ?? {}) },
    });
    const text = await res.text();
    return { status: res.status, text, json: JSON.parse(text) as any };
  };
  const query = (token: string, q: string) =>
    gate(token, '/query', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: q }).toString(),
    });
  const series = (json: any): Array<Record<string, string>> =>
    Array.isArray(json?.data?.result) ? json.data.result.map((r: any) => r.metric ?? {}) : [];
  const servicesIn = async (token: string, q: string) =>
    [...new Set(series((await query(token, q)).json).map((m) => m.service ?? ''))].sort();

  beforeAll(async () => {
    fx = envFixture(PROMETHEUS_YAML);
    server = await startTestServer({ configPath: fx.configPath, environmentTimers: false });
    t = await userTokens(server, ['alice', 'dave']);
    // Each team's environment, made by one of its members.
    await Promise.all(
      [payments, identity].map(async (x) => {
        x.env = fx.envName(x.team === 'payments' ? 'pay' : 'ident');
        const created = await api(server, t[x.user]!, 'POST', '/api/environments', { name: x.env, from: 'cache' });
        expect(created.status, created.text).toBe(202);
        await waitForEnvironment(server, t[x.user]!, x.env, ['ready'], { failOn: ['failed'] });
      }),
    );
    // Every service released and deployed at once; each rollout waited for.
    await Promise.all(
      [payments, identity].flatMap((x) =>
        Object.entries(x.services).map(async ([service, replicas]) => {
          const repo = serviceRepo({ prefix: `idp-demo-${service}-` });
          repos.push(repo);
          const released = await releaseTinyService(server, t[x.user]!, repo, deployYaml(service, x.team, replicas), {
            service,
            serverJs: LOGGING_SERVER_JS,
          });
          expect(released.status, released.text).toBe(201);
          x.versions[service] = released.json.version as string;
          const res = await api(server, t[x.user]!, 'POST', '/api/deployments', {
            service,
            env: x.env,
            version: released.json.version,
          });
          expect(res.status, res.text).toBe(202);
          const done = await waitForDeployment(server, t[x.user]!, res.json.id, undefined, { timeout: 60_000 });
          expect(done.status, JSON.stringify(done)).toBe('healthy');
          x.namespace = done.namespace as string;
        }),
      ),
    );
    // Steady traffic to every service through the edge proxy while the tests read the figures.
    const port = server.services.deployments.service.proxyPort;
    traffic = [payments, identity].flatMap((x) =>
      Object.keys(x.services).map((s) => proxyTraffic(port, `${s}.${x.namespace}.localhost`, { pauseMs: 50 })),
    );
    // The managed Prometheus is up, and has scraped the proxy's figures of all four services twice.
    await vi.waitFor(
      async () => {
        const all = await query(
          server.adminToken,
          'count by (service) (count_over_time(idp_proxy_requests_total[1m]) > 1)',
        );
        expect(series(all.json).length).toBe(4);
      },
      { timeout: 45_000, interval: 250 },
    );
  }, 150_000);

  afterAll(async () => {
    const answers = await Promise.all(traffic.map((x) => x.stop()));
    if (server) {
      for (const x of [payments, identity])
        if (x.env) await api(server, t[x.user]!, 'DELETE', `/api/environments/${x.env}`);
      await server.services.environments.idle();
      await server.stop();
    }
    await fx?.cleanup();
    for (const repo of repos) repo.remove();
    // The traffic itself went through: every request answered 200.
    expect(answers.flatMap((a) => a.failures)).toEqual([]);
  }, 60_000);

  it("sum by (service) of the proxy's request rate: alice sees payments' services, dave identity's, an admin both", async () => {
    const q = 'sum by (service) (rate(idp_proxy_requests_total[1m]))';
    expect(await servicesIn(t.alice!, q)).toEqual(['notifications-service', 'payments-api']);
    expect(await servicesIn(t.dave!, q)).toEqual(['auth-service', 'users-api']);
    expect(await servicesIn(server.adminToken, q)).toEqual([
      'auth-service',
      'notifications-service',
      'payments-api',
      'users-api',
    ]);
    // Not zeros: the traffic shows.
    const rates = (await query(t.alice!, q)).json.data.result.map((r: any) => Number(r.value[1]));
    for (const rate of rates) expect(rate).toBeGreaterThan(0);
  });

  it('the replicas’ own metrics are there, stamped by the platform (team, service, env, namespace, release, replica)', async () => {
    for (const x of [payments, identity]) {
      const want = Object.entries(x.services)
        .flatMap(([service, n]) =>
          Array.from({ length: n }, (_, i) => ({
            team: x.team,
            service,
            env: x.env,
            namespace: x.namespace,
            release: x.versions[service]!,
            replica: String(i + 1),
            up: '1',
          })),
        )
        .sort((a, b) => `${a.service}/${a.replica}`.localeCompare(`${b.service}/${b.replica}`));
      const up = await query(t[x.user]!, 'idp_replica_up');
      expect(up.status, up.text).toBe(200);
      const got = up.json.data.result
        .map((r: any) => ({
          team: r.metric.team,
          service: r.metric.service,
          env: r.metric.env,
          namespace: r.metric.namespace,
          release: r.metric.release,
          replica: r.metric.replica,
          up: r.value[1],
        }))
        .sort((a: any, b: any) => `${a.service}/${a.replica}`.localeCompare(`${b.service}/${b.replica}`));
      expect(got).toEqual(want);
      const memory = await query(t[x.user]!, 'min(idp_replica_resident_memory_bytes)');
      expect(Number(memory.json.data.result[0].value[1])).toBeGreaterThan(10 * 1024 * 1024);
      const cpu = await query(t[x.user]!, 'count(idp_replica_cpu_seconds_total)');
      expect(cpu.json.data.result[0].value[1]).toBe(String(want.length));
      const restarts = await query(t[x.user]!, 'sum(idp_replica_restarts_total)');
      expect(restarts.json.data.result[0].value[1]).toBe('0');
    }
  });

  it("a corpus of hostile PromQL run as each team leaks nothing of the other team's series", async () => {
    // The corpus's selectors made to name the demo's real metrics.
    const corpus = hostileCorpus().map((q) =>
      q.replace(/(?<![\w\\])x(?!\w)/g, 'idp_proxy_requests_total').replace(/(?<![\w\\])y(?!\w)/g, 'idp_replica_up'),
    );
    expect(corpus.length).toBeGreaterThanOrEqual(200);
    // These write the team label from the query's text or another label: what they say is no leak.
    const relabels = /label_replace|label_join|count_values/;
    for (const x of [payments, identity]) {
      const forbidden = secretsOf(other(x));
      const statuses = new Map<number, number>();
      let withData = 0;
      for (const q of corpus) {
        const res = await query(t[x.user]!, q);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect([200, 400, 422], `${q}: ${res.text.slice(0, 200)}`).toContain(res.status);
        for (const secret of forbidden) expect(res.text, `${x.user}: ${q}`).not.toContain(secret);
        if (res.status !== 200) continue;
        const found = series(res.json);
        if (found.some((m) => m.service !== undefined)) withData++;
        if (!relabels.test(q))
          for (const m of found) if (m.team !== undefined) expect(m.team, `${x.user}: ${q}`).toBe(x.team);
      }
      // The corpus does read the team's own series: the gate narrows, it does not blank out.
      expect(statuses.get(200), JSON.stringify([...statuses])).toBeGreaterThan(150);
      expect(withData).toBeGreaterThan(30);
    }
  }, 120_000);

  it("/labels, /label/service/values and /series answer over the caller's series only", async () => {
    for (const x of [payments, identity]) {
      const token = t[x.user]!;
      const forbidden = secretsOf(other(x));
      const labels = await gate(token, '/labels');
      expect(labels.status).toBe(200);
      expect(labels.json.data).toEqual(expect.arrayContaining(['team', 'service', 'env', 'release', 'replica']));
      const services = await gate(token, '/label/service/values');
      expect(services.json.data).toEqual(Object.keys(x.services).sort());
      const hostile = await gate(
        token,
        `/label/service/values?match[]=${encodeURIComponent(`{team="${other(x).team}"}`)}`,
      );
      expect(hostile.json.data).toEqual([]);
      const all = await gate(token, `/series?match[]=${encodeURIComponent('{__name__=~".+"}')}`);
      expect(all.status).toBe(200);
      expect(all.json.data.length).toBeGreaterThan(0);
      expect(new Set(all.json.data.map((m: any) => m.team))).toEqual(new Set([x.team]));
      for (const response of [labels, services, hostile, all])
        for (const secret of forbidden) expect(response.text).not.toContain(secret);
    }
    const everything = await gate(server.adminToken, '/label/service/values');
    expect(everything.json.data).toEqual(
      expect.arrayContaining(['auth-service', 'notifications-service', 'payments-api', 'users-api']),
    );
  });

  it("logs: each team reads its services' logs, and the other team's answer the same as a service that does not exist", async () => {
    const logs = async (token: string, service: string, env: string) => {
      const res = await fetch(`${server.url}/api/observability/logs?${new URLSearchParams({ service, env })}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return { status: res.status, text: await res.text() };
    };
    for (const x of [payments, identity]) {
      const token = t[x.user]!;
      for (const service of Object.keys(x.services)) {
        const own = await logs(token, service, x.env);
        expect(own.status, own.text).toBe(200);
        const streams = JSON.parse(own.text).data.result;
        expect(streams.length).toBeGreaterThan(0);
        for (const s of streams) expect(s.stream).toMatchObject({ team: x.team, service, env: x.env });
        expect(streams.flatMap((s: any) => s.values.map((v: string[]) => v[1])).join('\n')).toContain('served GET /');
      }
      const theirs = other(x);
      const none = await logs(token, 'no-such-service', theirs.env);
      expect(none.status).toBe(200);
      expect(JSON.parse(none.text)).toMatchObject({ status: 'success', data: { result: [] } });
      for (const service of Object.keys(theirs.services)) {
        const res = await logs(token, service, theirs.env);
        expect(res.status).toBe(200);
        expect(JSON.parse(res.text)).toEqual(JSON.parse(none.text));
      }
    }
  });
});
