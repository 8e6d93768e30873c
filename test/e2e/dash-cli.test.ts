import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acmeConfigWith } from '../support/config.ts';
import { untilPrometheusAnswers } from '../support/prometheus-query.ts';
import { startScrapedPrometheus, type ScrapedPrometheus } from '../support/prometheus.ts';
import { CLI_BIN, ROOT, runCli, startTestServer, type TestServer } from '../support/server.ts';
import { userTokens } from '../support/tokens.ts';

// `idp dash` through the real bin, against a real server and a real Prometheus scraping, every
// second, an exporter of the figures the golden-signal dashboards read (the edge proxy's requests
// and latency buckets, the replica's up, restarts, CPU and memory) for payments-api (payments) and
// users-api (identity), plus config dashboards of both teams: one panel of payments' that fails
// when Prometheus runs it, and one definition that is refused when it is loaded.

let scrapes = 0;
function exposition(): string {
  const n = ++scrapes;
  const p = 'team="payments",service="payments-api",env="staging",namespace="staging",release="v1"';
  const u = 'team="identity",service="users-api",env="staging",namespace="staging",release="v7"';
  return [
    // 11 requests a scrape, 1 of them a 5xx: 9.09% errors; 10 under 0.1 s and 1 under 0.5 s: p50 55 ms, p99 456 ms.
    `idp_proxy_requests_total{${p},code="2xx"} ${10 * n}`,
    `idp_proxy_requests_total{${p},code="5xx"} ${n}`,
    `idp_proxy_request_duration_seconds_bucket{${p},le="0.1"} ${10 * n}`,
    `idp_proxy_request_duration_seconds_bucket{${p},le="0.5"} ${11 * n}`,
    `idp_proxy_request_duration_seconds_bucket{${p},le="+Inf"} ${11 * n}`,
    `idp_replica_up{${p},replica="1"} 1`,
    `idp_replica_restarts_total{${p},replica="1"} 0`,
    `idp_replica_cpu_seconds_total{${p},replica="1"} ${0.25 * n}`,
    `idp_replica_resident_memory_bytes{${p},replica="1"} ${50 * 1024 * 1024}`,
    `idp_proxy_requests_total{${u},code="2xx"} ${5 * n}`,
    '',
  ].join('\n');
}

const DASHBOARDS = [
  {
    name: 'payments-overview',
    title: 'Payments overview',
    team: 'payments',
    panels: [
      {
        title: 'Requests by service',
        query: 'sum by (service) (rate(idp_proxy_requests_total{env="$env"}[1m]))',
        unit: 'req/s',
        legend: '{{service}}',
      },
      // Parses, but two series on each side share team: Prometheus refuses to evaluate it.
      {
        title: 'Many to many',
        query: 'idp_proxy_requests_total{env="$env"} * on (team) idp_proxy_requests_total{env="$env"}',
        unit: 'none',
      },
    ],
  },
  {
    name: 'identity-overview',
    team: 'identity',
    panels: [{ title: 'Requests', query: 'sum(rate(idp_proxy_requests_total[1m]))', unit: 'req/s' }],
  },
  {
    name: 'payments-broken',
    team: 'payments',
    panels: [{ title: 'Broken', query: 'sum(rate(idp_proxy_requests_total[1m])', unit: 'req/s' }],
  },
];

const ANSI = String.fromCharCode(27);

let prom: ScrapedPrometheus | undefined;
let server: TestServer;
let tokens: Record<string, string>;
let configPath: string;

const dash = (args: string[]) =>
  runCli(['dash', ...args], { IDP_URL: server.url, IDP_TOKEN: tokens.alice!, NO_COLOR: undefined });

/** `idp dash …` on a terminal `columns` wide (a pseudo-terminal from util-linux's script); its output with \n line ends. */
function dashOnTerminal(args: string[], columns: number, env: Record<string, string> = {}): Promise<string> {
  const command = `stty cols ${columns}; exec ${[process.execPath, CLI_BIN, 'dash', ...args].join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', command, '/dev/null'], {
      cwd: ROOT,
      env: {
        ...process.env,
        NO_COLOR: undefined,
        IDP_CONFIG_DIR: join(tmpdir(), 'idp-cli-none'),
        IDP_URL: server.url,
        IDP_TOKEN: tokens.alice!,
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve(out.replace(/\r\n/g, '\n')) : reject(new Error(`exit ${code}: ${out}`)),
    );
  });
}

/** A panel's lines in the text output: its title line up to the next blank line. */
function panelLines(stdout: string, title: string): string[] {
  const lines = stdout.split('\n');
  const at = lines.findIndex((l) => l.startsWith(`${title} (`) || l === title);
  expect(at, `panel ${title} in:\n${stdout}`).toBeGreaterThan(0);
  const end = lines.indexOf('', at);
  return lines.slice(at, end < 0 ? undefined : end);
}

beforeAll(async () => {
  prom = await startScrapedPrometheus(exposition);
  const promUrl = prom.url;
  // Every rate the panels take has two samples within its window.
  await untilPrometheusAnswers(promUrl, 'count(rate(idp_proxy_requests_total[1m]) > 0)', '3');
  configPath = acmeConfigWith('dash-cli', ['observability'], { prometheus: { url: promUrl }, dashboards: DASHBOARDS });
  server = await startTestServer({ configPath });
  tokens = await userTokens(server, ['alice']);
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await prom?.stop();
  if (configPath) rmSync(configPath, { force: true });
});

describe('idp dash', () => {
  it("lists the dashboards alice sees (payments' and its services'), and her team's refused definition on stderr", async () => {
    const res = await dash([]);
    expect(res.code).toBe(0);
    const [head, ...rows] = res.stdout.trimEnd().split('\n');
    expect(head).toMatch(/^NAME +TITLE +TEAM +SERVICE +SOURCE +PANELS$/);
    const byName = new Map(rows.map((r) => [r.split(/\s+/)[0]!, r]));
    expect(byName.get('payments-api')).toMatch(
      /^payments-api +payments-api: golden signals +payments +payments-api +generated +8$/,
    );
    expect(byName.get('payments-overview')).toMatch(/^payments-overview +Payments overview +payments +- +config +2$/);
    expect(byName.has('notifications-service')).toBe(true);
    for (const hidden of ['users-api', 'auth-service', 'identity-overview', 'payments-broken']) {
      expect(byName.has(hidden)).toBe(false);
    }
    expect(res.stderr).toMatch(
      /1 dashboard definition is not served:\nobservability\.dashboards\[2\]:1:\d+ {2}panels\[0\]\.query: /,
    );

    const json = await dash(['-o', 'json']);
    const list = JSON.parse(json.stdout);
    expect(list.items.map((d: any) => d.name)).toContain('payments-api');
    expect(list.problems).toHaveLength(1);
  });

  it("draws payments-api's golden signals in staging: a sparkline and the last value per series, in each panel's unit", async () => {
    // The last point is now: wait until every panel has one.
    let stdout = '';
    await expect
      .poll(
        async () => {
          const res = await dash(['payments-api', '--env=staging', '--since=5m', '--points=30']);
          expect(res.code).toBe(0);
          stdout = res.stdout;
          return /Latency p99 \(s\)\n {2}p99 +[ ▁▂▃▄▅▆▇█]+ +456 ms/.test(stdout);
        },
        { timeout: 20_000, interval: 500 },
      )
      .toBe(true);
    expect(stdout.split('\n')[0]).toBe(
      'payments-api: golden signals (payments-api) · team payments · env staging · last 5m, step 10s',
    );
    const spark = '[ ▁▂▃▄▅▆▇█]{40}';
    expect(panelLines(stdout, 'Traffic')).toEqual([
      'Traffic (req/s)',
      expect.stringMatching(new RegExp(`^ {2}v1 +${spark} {2}\\d+(\\.\\d+)? req/s$`)),
    ]);
    expect(panelLines(stdout, 'Errors (5xx share)')[1]).toMatch(new RegExp(`^ {2}5xx +${spark} {2}9\\.09%$`));
    expect(panelLines(stdout, 'Latency p50')[1]).toMatch(/ 55 ms$/);
    expect(panelLines(stdout, 'Replicas up')[1]).toMatch(/^ {2}v1 +.* 1$/);
    // rate() over [1m] counts the whole minute, so until Prometheus has scraped for one the rates are lower than 0.25.
    expect(panelLines(stdout, 'CPU')).toEqual([
      'CPU (cores)',
      expect.stringMatching(new RegExp(`^ {2}v1 #1 +${spark} {2}0\\.\\d+ cores$`)),
    ]);
    expect(panelLines(stdout, 'Memory (resident)')[1]).toMatch(/ 50 MiB$/);
    // Not a terminal: 100 columns at most, no colours (NO_COLOR is not set).
    for (const line of stdout.split('\n')) expect([...line].length).toBeLessThanOrEqual(100);
    expect(stdout).not.toContain(ANSI);
    expect(stdout).not.toMatch(/users-api|v7/);
  });

  it("shows a panel's error in its place and the other panels all the same", async () => {
    const res = await dash(['payments-overview', '--env=staging', '--since=5m']);
    expect(res.code).toBe(0);
    expect(panelLines(res.stdout, 'Requests by service')[1]).toMatch(/^ {2}payments-api +.* req\/s$/);
    expect(res.stdout).not.toMatch(/users-api/);
    // Prometheus's long message, wrapped to the 100 columns of a pipe.
    const [title, first, ...more] = panelLines(res.stdout, 'Many to many');
    expect(title).toBe('Many to many');
    expect(first).toMatch(/^ {2}error \[OBSERVABILITY_QUERY_INVALID\]: /);
    for (const line of more) expect(line).toMatch(/^ {4}\S/);
    expect([first, ...more].join(' ')).toMatch(/many-to-many matching not allowed/);
    for (const line of res.stdout.split('\n')) expect([...line].length).toBeLessThanOrEqual(100);
  });

  it('on a terminal: its width, and colours unless NO_COLOR is set', async () => {
    const args = ['payments-overview', '--env=staging', '--since=5m'];
    const coloured = await dashOnTerminal(args, 70);
    expect(coloured).toContain(ANSI);
    const visible = coloured.replace(new RegExp(`${ANSI}\\[[0-9;]*m`, 'g'), '');
    expect(visible).toMatch(/^Payments overview \(payments-overview\)/);
    expect(visible).toMatch(/many-to-many/);
    const widths = visible.split('\n').map((l) => [...l].length);
    expect(Math.max(...widths)).toBeLessThanOrEqual(70);
    // Wider than a pipe's 100 columns: the error's lines use the room.
    expect(
      Math.max(...(await dashOnTerminal(args, 160, { NO_COLOR: '1' })).split('\n').map((l) => [...l].length)),
    ).toBeGreaterThan(100);
    const plain = await dashOnTerminal(args, 70, { NO_COLOR: '1' });
    expect(plain).not.toContain(ANSI);
  });

  it('-o json prints the API object', async () => {
    const res = await dash(['payments-api', '--env=staging', '--since=15m', '--points=10', '-o', 'json']);
    expect(res.code).toBe(0);
    const data = JSON.parse(res.stdout);
    expect(data).toMatchObject({ name: 'payments-api', env: 'staging', source: 'generated', step: 90 });
    expect(data.panels).toHaveLength(8);
    expect(data.panels[0].series[0].points).toHaveLength(11);
  });

  it("another team's dashboard and an unknown one are the same 404, exit 4; NAME without --env is a usage error", async () => {
    for (const name of ['identity-overview', 'users-api', 'no-such-dashboard']) {
      const res = await dash([name, '--env=staging']);
      expect(res.code).toBe(4);
      expect(res.stdout).toBe('');
      expect(res.stderr).toBe(
        `Error [OBSERVABILITY_DASHBOARD_NOT_FOUND]: no dashboard "${name}"\nTry this: Run \`idp dash\` to list the dashboards you can open; every service has one named after it.\n`,
      );
    }
    const noEnv = await dash(['payments-api']);
    expect(noEnv.code).toBe(2);
    expect(noEnv.stderr).toMatch(/^Error \[USAGE\]: which environment should payments-api show\?/);
  });
});
