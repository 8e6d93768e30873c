import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scrapeTokenPath } from '../../packages/server/src/capabilities/observability/scrape-token.ts';
import { api, type TestServer } from '../support/server.ts';
import { envServer } from '../support/env-server.ts';
import { storesAvailable } from '../support/environments.ts';
import { proxyGet, serviceRepo, waitForDeployment, type ServiceRepo } from '../support/deploy.ts';
import { releaseTinyService, canaryYaml as yaml } from '../support/tiny-service.ts';

// The control plane's GET /metrics on a real server: who may read it, the HTTP figures by route
// pattern, and the edge proxy's per-release figures of a deployed tiny service, stamped with
// team, service, env, namespace and release, in a text that parses.

const ok = await storesAvailable();

/** Answers 500 on /boom, its version as JSON elsewhere (health checks included). */
const BOOM_SERVER_JS = `require('http').createServer((q, s) => { if (q.url === '/boom') { s.statusCode = 500; return s.end('boom'); } s.setHeader('content-type', 'application/json'); s.end(JSON.stringify({ version: process.env.IDP_RELEASE_VERSION })); }).listen(process.env.PORT);\n`;

const METRIC_NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"';
const SAMPLE = new RegExp(
  `^(${METRIC_NAME})(?:\\{(?:${LABEL})(?:,${LABEL})*\\})? (?:[-+]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][-+]?\\d+)?|NaN|[-+]Inf)$`,
);

/**
 * A strict check of Prometheus's text format 0.0.4: every line is a HELP, a TYPE or a sample; a
 * family's TYPE comes once, before its samples; histogram samples are _bucket (with le), _sum or
 * _count of a declared histogram. Returns the problems.
 */
function formatProblems(text: string): string[] {
  const problems: string[] = [];
  const types = new Map<string, string>();
  if (!text.endsWith('\n')) problems.push('no final newline');
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (type) {
      if (types.has(type[1]!)) problems.push(`second TYPE for ${type[1]}`);
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (new RegExp(`^# HELP ${METRIC_NAME} .*$`).test(line)) continue;
    const sample = SAMPLE.exec(line);
    if (!sample) {
      problems.push(`not a sample: ${line}`);
      continue;
    }
    const name = sample[1]!;
    const base = name.replace(/_(bucket|sum|count)$/, '');
    if (types.get(name) === undefined && types.get(base) !== 'histogram') problems.push(`no TYPE before ${line}`);
    if (name.endsWith('_bucket') && types.get(base) === 'histogram' && !/[{,]le="/.test(line))
      problems.push(`bucket without le: ${line}`);
  }
  return problems;
}

/** Samples of `name` whose labels include every pair of `labels`: their label text and value. */
function samples(text: string, name: string, labels: Record<string, string>): { labels: string; value: number }[] {
  const out: { labels: string; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = new RegExp(`^${name}\\{(.*)\\} (\\S+)$`).exec(line);
    if (!m) continue;
    if (Object.entries(labels).every(([k, v]) => m[1]!.split(',').includes(`${k}="${v}"`)))
      out.push({ labels: m[1]!, value: Number(m[2]) });
  }
  return out;
}

describe.skipIf(!ok)('GET /metrics on the control plane', () => {
  let server: TestServer;
  let t: Record<string, string>;
  let env: string;
  let repo: ServiceRepo;
  const setup = envServer({ users: ['alice'], label: 'metrics' });
  const scrape = (token: string | null) => api(server, token, 'GET', '/metrics');

  beforeAll(() => {
    ({ server, tokens: t, env } = setup);
    repo = serviceRepo({ prefix: 'idp-metrics-repo-' });
  });
  afterAll(() => repo?.remove());

  it('refuses no token, a bad token and a developer’s token, with the error catalogue’s body', async () => {
    const none = await scrape(null);
    expect(none.status).toBe(401);
    expect(none.json.error.code).toBe('UNAUTHENTICATED');
    const bad = await scrape('not-a-token');
    expect(bad.status).toBe(401);
    expect(bad.json.error.code).toBe('TOKEN_INVALID');
    const developer = await scrape(t.alice!);
    expect(developer.status).toBe(403);
    expect(developer.json.error).toMatchObject({ code: 'POLICY_DENIED', details: { hint: expect.any(String) } });
    expect(developer.text).not.toContain('idp_http_requests_total');
    const audit = await api(server, server.adminToken, 'GET', '/api/audit?action=metrics:read');
    expect(audit.status, audit.text).toBe(200);
    expect(audit.json.items).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'metrics:read', actor: 'user:default/alice', decision: 'deny' }),
      ]),
    );
  });

  it('answers the scrape token (the file’s content) and the admin token, in a text that parses', async () => {
    const token = readFileSync(scrapeTokenPath(server.dataDir), 'utf8').trim();
    const byScrape = await scrape(token);
    expect(byScrape.status, byScrape.text).toBe(200);
    expect(byScrape.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(formatProblems(byScrape.text)).toEqual([]);
    const byAdmin = await scrape(server.adminToken);
    expect(byAdmin.status).toBe(200);
    expect(formatProblems(byAdmin.text)).toEqual([]);
    for (const family of [
      'idp_http_requests_total',
      'idp_http_request_duration_seconds',
      'idp_policy_decisions_total',
      'idp_environments',
      'idp_environment_provision_seconds',
      'idp_deployments_total',
      'idp_deployments_active',
      'idp_deployment_duration_seconds',
      'idp_reconciler_lag_seconds',
      'idp_proxy_requests_total',
      'idp_proxy_request_duration_seconds',
    ])
      expect(byAdmin.text).toMatch(new RegExp(`^# TYPE ${family} `, 'm'));
  });

  it('counts API calls by route pattern, never by raw URL', async () => {
    for (let i = 0; i < 3; i++)
      expect((await api(server, t.alice!, 'GET', `/api/environments/${env}`)).status).toBe(200);
    await api(server, t.alice!, 'GET', '/api/no-such-thing/42');
    const text = (await scrape(server.adminToken)).text;
    const byPattern = samples(text, 'idp_http_requests_total', {
      method: 'GET',
      route: '/api/environments/:name',
      status: '200',
    });
    expect(byPattern).toHaveLength(1);
    expect(byPattern[0]!.value).toBeGreaterThanOrEqual(3);
    expect(samples(text, 'idp_http_requests_total', { route: 'unmatched', status: '404' })[0]?.value).toBe(1);
    expect(text).not.toContain(`route="/api/environments/${env}"`);
    expect(text).not.toContain('no-such-thing');
    // The environment the fixture made is ready, and its provisioning was timed.
    expect(samples(text, 'idp_environments', { status: 'ready' })[0]?.value).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^idp_environment_provision_seconds_count [1-9]/m);
    expect(samples(text, 'idp_policy_decisions_total', { action: 'env:read', decision: 'allow' })).not.toEqual([]);
  });

  it('stamps the proxy’s requests and latency of a deployed release with team, service, env, namespace, release', async () => {
    const released = await releaseTinyService(server, t.alice!, repo, yaml('    - weight: 100'), {
      serverJs: BOOM_SERVER_JS,
    });
    expect(released.status, released.text).toBe(201);
    const version = released.json.version as string;
    const created = await api(server, t.alice!, 'POST', '/api/deployments', { service: 'payments-api', env, version });
    expect(created.status, created.text).toBe(202);
    const done = await waitForDeployment(server, t.alice!, created.json.id, (d) => d.status === 'healthy');
    const namespace = done.namespace as string;
    const port = server.services.deployments.service.proxyPort;
    const host = `payments-api.${namespace}.localhost`;
    for (let i = 0; i < 7; i++) expect((await proxyGet(port, host)).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await proxyGet(port, host, '/boom')).status).toBe(500);

    const text = (await scrape(server.adminToken)).text;
    expect(formatProblems(text)).toEqual([]);
    // Prometheus's own parser and linter agree (promtool ships with the prometheus package).
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    expect(promtool.error).toBeUndefined();
    expect(`${promtool.stdout}${promtool.stderr}`).toBe('');
    expect(promtool.status).toBe(0);
    const stamp = { team: 'payments', service: 'payments-api', env, namespace, release: version };
    const code = (c: string) => samples(text, 'idp_proxy_requests_total', { ...stamp, code: c });
    expect(code('2xx')).toHaveLength(1);
    expect(code('2xx')[0]!.value).toBe(7);
    expect(code('5xx')[0]!.value).toBe(2);
    expect(code('4xx')[0]!.value).toBe(0);

    const buckets = samples(text, 'idp_proxy_request_duration_seconds_bucket', stamp).map((b) => ({
      le: /le="([^"]+)"/.exec(b.labels)![1]!,
      value: b.value,
    }));
    expect(buckets.map((b) => b.le)).toEqual([
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '10',
      '+Inf',
    ]);
    for (let i = 1; i < buckets.length; i++) expect(buckets[i]!.value).toBeGreaterThanOrEqual(buckets[i - 1]!.value);
    const count = samples(text, 'idp_proxy_request_duration_seconds_count', stamp);
    expect(count[0]!.value).toBe(9);
    expect(buckets.at(-1)!.value).toBe(9);
    const sum = samples(text, 'idp_proxy_request_duration_seconds_sum', stamp)[0]!.value;
    expect(sum).toBeGreaterThan(0);
    expect(sum).toBeLessThan(9 * 10);

    // The deployment itself is counted, and its rollout timed.
    expect(samples(text, 'idp_deployments_total', { status: 'healthy' })[0]?.value).toBeGreaterThanOrEqual(1);
    expect(text).toMatch(/^idp_deployment_duration_seconds_count [1-9]/m);
    expect(text).toMatch(/^idp_reconciler_lag_seconds \d/m);
  }, 120_000);

  // Last: it spends this client's allowance of unauthenticated requests.
  it('counts scrapes without a valid token against the unauthenticated rate limit', async () => {
    let limited: Awaited<ReturnType<typeof scrape>> | undefined;
    for (let i = 0; i < 100 && !limited; i++) {
      const res = await scrape(i % 2 ? null : 'not-a-token');
      if (res.status === 429) limited = res;
      else expect(res.status).toBe(401);
    }
    expect(limited?.json.error.code).toBe('RATE_LIMITED');
    expect(Number(limited?.headers.get('retry-after'))).toBeGreaterThan(0);
    // The scrape token is never limited.
    const token = readFileSync(scrapeTokenPath(server.dataDir), 'utf8').trim();
    expect((await scrape(token)).status).toBe(200);
  });
});
