import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseDocument } from 'yaml';
import { hostileCorpus } from '../support/promql-corpus.ts';
import { startScrapedPrometheus, type ScrapedPrometheus } from '../support/prometheus.ts';
import { ACME_CONFIG, startTestServer, type TestServer } from '../support/server.ts';
import { userTokens } from '../support/tokens.ts';

// A real Prometheus (Debian's, /usr/bin/prometheus) scraping a tiny exporter every second whose
// series belong to two teams; idp's query gate in front of it, queried as each team and an admin.
const SERIES = [
  'x{team="payments",service="payments-api",env="staging"} 5',
  'x{team="payments",service="payments-api",env="production"} 7',
  'x{team="identity",service="identity-api",env="identity-sandbox"} 11',
  'y{team="payments",service="payments-api",env="staging"} 1',
  'y{team="identity",service="identity-api",env="identity-sandbox",identity_only_label="identity-only-value"} 2',
  'idp_proxy_requests_total{team="payments",service="payments-api",env="staging",code="5xx"} 3',
  'idp_proxy_requests_total{team="identity",service="identity-api",env="identity-sandbox",code="5xx"} 4',
];
/** Text that only the identity team's series hold: a 200 answer to payments must never contain it. */
const IDENTITY_ONLY = /identity-api|identity-sandbox|identity-only|"identity"/;

let prom: ScrapedPrometheus | undefined;
let prometheus: ChildProcess | undefined;
let promUrl: string;
let server: TestServer;
let tokens: Record<string, string>;
let configPath: string;

async function gate(token: string | null, path: string, init: RequestInit = {}) {
  const res = await fetch(`${server.url}/api/observability${path}`, {
    ...init,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(init.headers ?? {}) },
  });
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) as any };
}

const instant = (token: string, query: string) => gate(token, `/query?query=${encodeURIComponent(query)}`);

function teamsOf(json: any): string[] {
  return (json.data.result as Array<{ metric: Record<string, string> }>).map((r) => r.metric.team ?? '').sort();
}

beforeAll(async () => {
  prom = await startScrapedPrometheus(() => `${SERIES.join('\n')}\n`);
  prometheus = prom.process;
  promUrl = prom.url;
  // Ready (expect.poll is for tests; vi.waitFor is its beforeAll form), then both teams' series scraped once.
  await vi.waitFor(
    async () => {
      const res = await fetch(`${promUrl}/-/ready`);
      expect(res.status).toBe(200);
    },
    { timeout: 30_000, interval: 100 },
  );
  await vi.waitFor(
    async () => {
      const body = (await (await fetch(`${promUrl}/api/v1/query?query=count(x)`)).json()) as any;
      expect(body.data?.result?.[0]?.value?.[1]).toBe('3');
    },
    { timeout: 30_000, interval: 200 },
  );

  const doc = parseDocument(readFileSync(ACME_CONFIG, 'utf8'));
  doc.setIn(['observability'], { prometheus: { url: promUrl }, query: { maxQueryBytes: 4096, maxPoints: 1000 } });
  configPath = join(dirname(ACME_CONFIG), 'idp.observability-query.config.yaml');
  writeFileSync(configPath, doc.toString());
  server = await startTestServer({ configPath });
  tokens = await userTokens(server, ['alice', 'dave']);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await prom?.stop();
  if (configPath) rmSync(configPath, { force: true });
});

describe('the PromQL query gate', () => {
  it("answers each team with its own series only, and an admin with everyone's", async () => {
    const query = 'sum by (team) (x)';
    const alice = await instant(tokens.alice!, query);
    expect(alice.status).toBe(200);
    expect(alice.json.status).toBe('success');
    expect(teamsOf(alice.json)).toEqual(['payments']);
    expect(alice.json.data.result[0].value[1]).toBe('12');

    const dave = await instant(tokens.dave!, query);
    expect(teamsOf(dave.json)).toEqual(['identity']);
    expect(dave.json.data.result[0].value[1]).toBe('11');

    const admin = await instant(server.adminToken, query);
    expect(teamsOf(admin.json)).toEqual(['identity', 'payments']);
  });

  it('takes a POST form and query_range the way Grafana sends them', async () => {
    const now = Math.floor(Date.now() / 1000);
    const form = new URLSearchParams({
      query: 'sum by (team) (x)',
      start: String(now - 60),
      end: String(now),
      step: '15',
    });
    const res = await gate(tokens.alice!, '/query_range', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: form.toString(),
    });
    expect(res.status).toBe(200);
    expect(res.json.data.resultType).toBe('matrix');
    expect(teamsOf(res.json)).toEqual(['payments']);
    // A datasource URL of <idp>/api/observability/prometheus: the client appends /api/v1/<endpoint>.
    const grafana = await gate(tokens.dave!, '/prometheus/api/v1/query', {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ query: 'sum by (team) (x)' }).toString(),
    });
    expect(teamsOf(grafana.json)).toEqual(['identity']);
    const values = await gate(tokens.dave!, '/prometheus/api/v1/label/team/values');
    expect(values.json.data).toEqual(['identity']);
  });

  it("leaks nothing of another team's series through any query of the hostile corpus", async () => {
    const statuses = new Map<number, number>();
    for (const query of hostileCorpus()) {
      const res = await gate(tokens.alice!, '/query', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ query }).toString(),
      });
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      expect([200, 400, 422], `${query}: ${res.text.slice(0, 200)}`).toContain(res.status);
      if (res.status === 200) expect(res.text, query).not.toMatch(IDENTITY_ONLY);
      else
        expect(res.json).toMatchObject({ status: 'error', errorType: expect.any(String), error: expect.any(String) });
      // The rewrite never breaks a query Prometheus takes as it is (an admin's goes through unchanged).
      const admin = await gate(server.adminToken, `/query?query=${encodeURIComponent(query)}`);
      if (admin.status === 200) expect(res.status, `${query}: ${res.text.slice(0, 200)}`).toBe(200);
    }
    expect(statuses.get(200)).toBeGreaterThan(150);
    // And the corpus does read payments' series: the gate narrows, it does not blank out.
    const all = await instant(tokens.alice!, '{__name__=~".+"}');
    expect(new Set(teamsOf(all.json))).toEqual(new Set(['payments']));
  });

  it("computes /labels, /label/<name>/values and /series over the caller's series only", async () => {
    const aliceLabels = await gate(tokens.alice!, '/labels');
    expect(aliceLabels.status).toBe(200);
    expect(aliceLabels.json.data).toContain('team');
    expect(aliceLabels.json.data).not.toContain('identity_only_label');
    const daveLabels = await gate(tokens.dave!, '/labels');
    expect(daveLabels.json.data).toContain('identity_only_label');

    expect((await gate(tokens.alice!, '/label/team/values')).json.data).toEqual(['payments']);
    expect((await gate(tokens.dave!, '/label/team/values')).json.data).toEqual(['identity']);
    expect((await gate(server.adminToken, '/label/team/values')).json.data).toEqual(['identity', 'payments']);
    expect((await gate(tokens.alice!, '/label/env/values')).json.data).toEqual(['production', 'staging']);
    const hostile = await gate(
      tokens.alice!,
      `/label/service/values?match[]=${encodeURIComponent('{team="identity"}')}`,
    );
    expect(hostile.json.data).toEqual([]);

    const series = await gate(tokens.alice!, `/series?match[]=${encodeURIComponent('{__name__=~".+"}')}`);
    expect(series.status).toBe(200);
    expect(series.json.data.length).toBeGreaterThan(0);
    expect(series.text).not.toMatch(IDENTITY_ONLY);
  });

  it('refuses a query that does not parse (400 bad_data with its position) and one too large (422)', async () => {
    const bad = await instant(tokens.alice!, 'sum(rate(x[5m])');
    expect(bad.status).toBe(400);
    expect(bad.json).toMatchObject({ status: 'error', errorType: 'bad_data', code: 'OBSERVABILITY_QUERY_INVALID' });
    expect(bad.json.error).toMatch(/line 1:\d+/);

    const large = await instant(tokens.alice!, Array.from({ length: 1000 }, () => 'x').join(' or '));
    expect(large.status).toBe(422);
    expect(large.json).toMatchObject({ status: 'error', code: 'OBSERVABILITY_QUERY_TOO_LARGE' });

    const now = Math.floor(Date.now() / 1000);
    const points = await gate(tokens.alice!, `/query_range?query=x&start=${now - 3600}&end=${now}&step=1`);
    expect(points.status).toBe(422);
    expect(points.json.error).toMatch(/maxPoints/);
    const range = await gate(tokens.alice!, `/query_range?query=x&start=${now - 40 * 86_400}&end=${now}&step=3600`);
    expect(range.status).toBe(422);
    expect(range.json.error).toMatch(/maxRange/);
  });

  it('wants a token', async () => {
    expect((await gate(null, '/query?query=x')).status).toBe(401);
  });

  it('answers 503 OBSERVABILITY_UNAVAILABLE naming the setting once Prometheus is down', async () => {
    const stopped = new Promise((resolve) => prometheus!.once('exit', resolve));
    prometheus!.kill('SIGTERM');
    await stopped;
    prometheus = undefined;
    const res = await instant(tokens.alice!, 'x');
    expect(res.status).toBe(503);
    expect(res.json).toMatchObject({ status: 'error', code: 'OBSERVABILITY_UNAVAILABLE' });
    expect(res.json.error).toContain('observability.prometheus.url');
  });
});
