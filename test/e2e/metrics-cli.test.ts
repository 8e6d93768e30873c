import { rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acmeConfigWith } from '../support/config.ts';
import { untilPrometheusAnswers } from '../support/prometheus-query.ts';
import { startScrapedPrometheus, type ScrapedPrometheus } from '../support/prometheus.ts';
import { runCli, startTestServer, type TestServer } from '../support/server.ts';
import { userTokens } from '../support/tokens.ts';

// `idp metrics` through the real bin, against a real server whose query gate is in front of a
// real Prometheus scraping, every second, an exporter of proxy request counters of two teams'
// services (growing at each scrape, so rates are not zero). alice (payments) sees payments'
// services only; a malformed query and a server without Prometheus fail with the catalogue's
// code, hint and exit code.

let scrapes = 0;
/** Per scrape: payments-api +2 (2xx) and +1 (5xx), payments-web +1, identity-api +3, all in their environments. */
function exposition(): string {
  scrapes++;
  return [
    '# TYPE idp_proxy_requests_total counter',
    `idp_proxy_requests_total{team="payments",service="payments-api",env="staging",code="2xx"} ${2 * scrapes}`,
    `idp_proxy_requests_total{team="payments",service="payments-api",env="staging",code="5xx"} ${scrapes}`,
    `idp_proxy_requests_total{team="payments",service="payments-web",env="staging",code="2xx"} ${scrapes}`,
    `idp_proxy_requests_total{team="identity",service="identity-api",env="identity-sandbox",code="2xx"} ${3 * scrapes}`,
    '',
  ].join('\n');
}

const RATE_BY_SERVICE = 'sum by (service) (rate(idp_proxy_requests_total[1m]))';
const IDENTITY = /identity/;

let prom: ScrapedPrometheus | undefined;
let server: TestServer;
let bare: TestServer | undefined;
let tokens: Record<string, string>;
let configPath: string;

const idp = (args: string[], token = tokens.alice!, url = server.url) =>
  runCli(['metrics', ...args], { IDP_URL: url, IDP_TOKEN: token, NO_COLOR: '1' });

beforeAll(async () => {
  prom = await startScrapedPrometheus(exposition);
  const promUrl = prom.url;
  // Every series has two samples within the last minute, so each rate has a value.
  await untilPrometheusAnswers(promUrl, 'count(rate(idp_proxy_requests_total[1m]))', '4');
  configPath = acmeConfigWith('metrics-cli', ['observability'], { prometheus: { url: promUrl } });
  server = await startTestServer({ configPath });
  tokens = await userTokens(server, ['alice']);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await bare?.stop();
  await prom?.stop();
  if (configPath) rmSync(configPath, { force: true });
});

describe('idp metrics', () => {
  it("shows alice each of payments' services with its rate, and nothing of identity's", async () => {
    const res = await idp([RATE_BY_SERVICE, '--unit=req/s']);
    expect(res.stderr).toBe('');
    expect(res.code).toBe(0);
    const lines = res.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SERVICE +VALUE$/);
    expect(
      lines
        .slice(1)
        .map((l) => l.split(/\s+/)[0])
        .sort(),
    ).toEqual(['payments-api', 'payments-web']);
    for (const line of lines.slice(1)) expect(line).toMatch(/^payments-(api|web) +[0-9.]+ req\/s$/);
    expect(res.stdout).not.toMatch(IDENTITY);
  });

  it('-o json prints Prometheus’s data object, labels and all', async () => {
    const res = await idp(['rate(idp_proxy_requests_total{code="2xx"}[1m])', '-o', 'json']);
    expect(res.code).toBe(0);
    const data = JSON.parse(res.stdout);
    expect(data.resultType).toBe('vector');
    const metrics = (data.result as Array<{ metric: Record<string, string>; value: [number, string] }>).map(
      (r) => r.metric,
    );
    expect(metrics.map((m) => m.service).sort()).toEqual(['payments-api', 'payments-web']);
    // The table drops the labels every row shares; JSON keeps them.
    expect(metrics.every((m) => m.team === 'payments' && m.env === 'staging' && m.code === '2xx')).toBe(true);
    expect(res.stdout).not.toMatch(IDENTITY);
  });

  it('drops the labels every row shares from the table and names them once on stderr', async () => {
    const res = await idp(['rate(idp_proxy_requests_total{code="2xx"}[1m])']);
    expect(res.code).toBe(0);
    expect(res.stdout.split('\n')[0]).toMatch(/^SERVICE +VALUE$/);
    // Prometheus's own job and instance are shared too.
    expect(res.stderr).toMatch(
      /^Every series has code="2xx", env="staging", instance="[^"]+", job="workloads", team="payments"\.\n$/,
    );
  });

  it('with --since draws a sparkline per series with its min, max and last', async () => {
    const res = await idp([RATE_BY_SERVICE, '--since=2m', '--step=5s', '--unit=req/s']);
    expect(res.code).toBe(0);
    const [head, ...rows] = res.stdout.trimEnd().split('\n');
    expect(head).toMatch(/^SERVICE +LAST 2m, STEP 5s +MIN +MAX +LAST$/);
    expect(rows).toHaveLength(2);
    const sparkAt = head!.indexOf('LAST 2m');
    for (const row of rows) {
      expect(row).toMatch(/^payments-(api|web) /);
      // 40 columns of blocks or gaps (Prometheus has been up for less than the range: gaps first), then three values.
      const spark = row.slice(sparkAt, sparkAt + 40);
      expect(spark).toMatch(/^[ ▁▂▃▄▅▆▇█]{40}$/);
      expect(spark).toMatch(/[▁▂▃▄▅▆▇█]$/);
      expect(row.slice(sparkAt + 40)).toMatch(/^ {2}[0-9.]+ req\/s +[0-9.]+ req\/s +[0-9.]+ req\/s$/);
    }
    expect(res.stdout).not.toMatch(IDENTITY);

    const json = await idp([RATE_BY_SERVICE, '--since=2m', '-o', 'json']);
    expect(JSON.parse(json.stdout).resultType).toBe('matrix');
  });

  it('a malformed query: one line with the code and position, the hint, exit 2', async () => {
    const res = await idp(['sum by (service) (rate(idp_proxy_requests_total[1m])']);
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    const [error, hint, ...rest] = res.stderr.trimEnd().split('\n');
    expect(error).toMatch(/^Error \[OBSERVABILITY_QUERY_INVALID\]: parse error at line 1:\d+: /);
    expect(hint).toMatch(/^Try this: Fix the query at the position named/);
    expect(rest).toEqual([]);

    const json = await idp(['rate(x[1m]', '-o', 'json']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stderr).error.code).toBe('OBSERVABILITY_QUERY_INVALID');
  });

  it("a query Prometheus refuses to evaluate: its own message under the catalogue's code, exit 2", async () => {
    // Parses, but two payments series share team on each side.
    const res = await idp(['idp_proxy_requests_total * on (team) idp_proxy_requests_total']);
    expect(res.code).toBe(2);
    expect(res.stderr).toMatch(
      /^Error \[OBSERVABILITY_QUERY_INVALID\]: .*many-to-many matching not allowed.*\nTry this: /,
    );
  });

  it('--time asks about another moment: before Prometheus started there is nothing, and it says so', async () => {
    const hourAgo = String(Math.floor(Date.now() / 1000) - 3600);
    const res = await idp([RATE_BY_SERVICE, `--time=${hourAgo}`]);
    expect(res.code).toBe(0);
    expect(res.stdout).toBe('');
    expect(res.stderr).toBe('No series: nothing you may read matches the query.\n');
    const now = await idp([RATE_BY_SERVICE, `--time=${new Date().toISOString()}`, '-o', 'json']);
    expect(JSON.parse(now.stdout).result).toHaveLength(2);
  });

  it('refuses flags that do not go together before asking the server', async () => {
    const step = await idp(['up', '--step=30s']);
    expect(step.code).toBe(2);
    expect(step.stderr).toMatch(/^Error \[USAGE\]: --step goes with --since/);
    const since = await idp(['up', '--since=soon']);
    expect(since.code).toBe(2);
    expect(since.stderr).toMatch(/--since "soon" is not a duration/);
  });

  it('without a Prometheus: 503 OBSERVABILITY_UNAVAILABLE naming the setting, exit 1', async () => {
    // The test config's metrics storage is off: no Prometheus at all.
    bare = await startTestServer();
    const [alice] = Object.values(await userTokens(bare, ['alice']));
    const res = await idp([RATE_BY_SERVICE], alice, bare.url);
    expect(res.code).toBe(1);
    expect(res.stderr).toMatch(/^Error \[OBSERVABILITY_UNAVAILABLE\]: .*observability\.prometheus\.url/);
    expect(res.stderr).toMatch(/\nTry this: Set observability\.prometheus\.url in idp\.config\.yaml/);
  });
});
