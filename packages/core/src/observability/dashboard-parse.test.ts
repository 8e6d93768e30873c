import { describe, expect, it } from 'vitest';
import { formatProblems } from '../deploy/parse.ts';
import { goldenDashboard } from './dashboard-golden.ts';
import { dashboardQueryProblems, parseDashboardYaml } from './dashboard-parse.ts';
import { scopeQuery } from './promql-scope.ts';
import { substituteVariables, unknownVariables } from './dashboard-variables.ts';

const limits = { maxQueryBytes: 4096 };
const file = '.idp/dashboards/latency.yaml';

const GOOD = `name: payments-api-latency
title: Payments latency
panels:
  - title: p95
    query: histogram_quantile(0.95, sum by (le) (rate(idp_proxy_request_duration_seconds_bucket{service="$service",env="$env"}[5m])))
    unit: seconds
  - title: Requests by code
    query: sum by (code) (rate(idp_proxy_requests_total{service="$service",env="$env"}[1m]))
    unit: req/s
    legend: "{{code}}"
`;

describe('parseDashboardYaml', () => {
  it('reads a dashboard, forcing the service and team of a repository', () => {
    const r = parseDashboardYaml(`${GOOD}service: identity-api\nteam: identity\n`, {
      file,
      limits,
      service: 'payments-api',
      team: 'payments',
    });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.spec).toMatchObject({ name: 'payments-api-latency', service: 'payments-api', team: 'payments' });
    expect(r.spec.panels.map((p) => p.unit)).toEqual(['seconds', 'req/s']);
    expect(r.spec.panels[1]!.legend).toBe('{{code}}');
  });

  it('reports every problem with its position and a did-you-mean', () => {
    const text = `name: payments-api-x
panels:
  - title: Traffic
    qeury: sum(rate(idp_proxy_requests_total[1m]))
    unit: req/s
  - title: Errors
    query: sum(x)
    unit: precent
`;
    const r = parseDashboardYaml(text, { file, limits });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const unknownKey = r.problems.find((p) => p.message.includes('qeury'));
    expect(unknownKey).toMatchObject({ line: 4, column: 5, field: 'panels[0].qeury', didYouMean: 'query' });
    const unit = r.problems.find((p) => p.field === 'panels[1].unit');
    expect(unit).toMatchObject({ line: 8, column: 11, didYouMean: 'percent' });
    expect(formatProblems(r.problems)).toContain(`${file}:4:5  panels[0].qeury: unknown key "qeury"`);
  });

  it("points at the query's own column for a PromQL error", () => {
    const r = parseDashboardYaml('name: d\npanels:\n  - title: t\n    query: sum(rate(x[1m])\n', { file, limits });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatchObject({ field: 'panels[0].query', line: 4 });
    expect(r.problems[0]!.message).toMatch(/parse error/);
    expect(r.problems[0]!.column).toBeGreaterThan(11);
  });

  it('refuses unknown variables (with the one meant) and $service on a dashboard without a service', () => {
    const r = parseDashboardYaml(
      'name: d\npanels:\n  - {title: a, query: \'up{env="$enviroment"}\'}\n  - {title: b, query: \'up{service="$service"}\'}\n',
      { file, limits },
    );
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems.map((p) => [p.field, p.message, p.didYouMean])).toEqual([
      ['panels[0].query', 'unknown variable $enviroment', '$env'],
      ['panels[1].query', 'uses $service but the dashboard has no service', undefined],
    ]);
  });

  it("refuses a repository dashboard whose name is not its service's", () => {
    const r = parseDashboardYaml(GOOD.replace('payments-api-latency', 'identity-api-latency'), {
      file,
      limits,
      service: 'payments-api',
      team: 'payments',
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems[0]).toMatchObject({ field: 'name', line: 1, column: 7 });
    expect(r.problems[0]!.message).toContain('does not start with "payments-api-"');
  });

  it('refuses a query over the gate size limit, bad names and empty files', () => {
    const long = `name: d\npanels:\n  - {title: a, query: 'sum(${'x+'.repeat(100)}x)'}\n`;
    const r = parseDashboardYaml(long, { file, limits: { maxQueryBytes: 64 } });
    expect(r.ok ? 'ok' : r.problems[0]!.message).toMatch(/maxQueryBytes/);
    const bad = parseDashboardYaml('name: Payments Overview\npanels: []\n', { file, limits });
    expect(bad.ok).toBe(false);
    if (bad.ok) return;
    expect(bad.problems.map((p) => p.field)).toEqual(['name', 'panels']);
    expect(bad.problems[0]!.hint).toContain('payments-overview');
    const empty = parseDashboardYaml('', { file, limits });
    expect(empty.ok).toBe(false);
  });

  it('refuses YAML bombs and duplicate keys before building anything', () => {
    const bomb = [
      'a: &a ["x","x","x","x","x","x","x","x","x"]',
      ...Array.from(
        { length: 8 },
        (_, i) => `${'bcdefghij'[i]}: &${'bcdefghij'[i]} [${Array(9).fill(`*${'abcdefghij'[i]}`).join(',')}]`,
      ),
      'name: d',
      'panels: [{title: t, query: up}]',
    ].join('\n');
    const r = parseDashboardYaml(bomb, { file, limits });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.problems[0]!.message).toMatch(/alias|expanded size/);
    const dup = parseDashboardYaml('name: a\nname: b\npanels: [{title: t, query: up}]\n', { file, limits });
    expect(dup.ok ? 'ok' : dup.problems[0]!.message).toContain('appears twice');
    const big = parseDashboardYaml(`name: d\n#${'x'.repeat(70_000)}\n`, { file, limits });
    expect(big.ok ? 'ok' : big.problems[0]!.message).toMatch(/size limit/);
  });
});

describe('variables', () => {
  it('replaces $env, $service and $team, and refuses a value that could change the query', () => {
    const q = 'up{env="$env",service="$service",team="$team"}';
    expect(substituteVariables(q, { env: 'staging', service: 'payments-api', team: 'payments' })).toBe(
      'up{env="staging",service="payments-api",team="payments"}',
    );
    for (const env of ['x"} or up{a="', 'a b', 'a\\', '', '-x', 'x{', "x'"]) {
      expect(() => substituteVariables(q, { env, service: 's', team: 't' }), env).toThrow(/\$env/);
    }
    // A variable the query does not use needs no value.
    expect(substituteVariables('up{env="$env"}', { env: 'staging' })).toBe('up{env="staging"}');
    expect(() => substituteVariables('up{team="$team"}', { env: 'staging' })).toThrow(/\$team/);
    expect(unknownVariables('up{x="$servcie"} + $envs')).toEqual([
      { name: 'servcie', offset: 6, didYouMean: '$service' },
      { name: 'envs', offset: 19, didYouMean: '$env' },
    ]);
  });
});

describe('goldenDashboard', () => {
  it("is named after the service, belongs to its team and has the golden signals' panels", () => {
    const d = goldenDashboard({ service: 'payments-api', team: 'payments' });
    expect(d).toMatchObject({ name: 'payments-api', team: 'payments', service: 'payments-api' });
    expect(d.panels.map((p) => [p.title, p.unit])).toEqual([
      ['Traffic', 'req/s'],
      ['Errors (5xx share)', 'ratio'],
      ['Latency p50', 'seconds'],
      ['Latency p99', 'seconds'],
      ['Replicas up', 'count'],
      ['Restarts (per 5 min)', 'count'],
      ['CPU', 'cores'],
      ['Memory (resident)', 'bytes'],
    ]);
    expect(d.panels[0]!.query).toBe(
      'sum by (release) (rate(idp_proxy_requests_total{service="$service",env="$env"}[1m]))',
    );
    expect(dashboardQueryProblems(d, limits)).toEqual([]);
    for (const panel of d.panels) {
      const q = substituteVariables(panel.query, { env: 'staging', service: 'payments-api', team: 'payments' });
      expect(q).toContain('service="payments-api",env="staging"');
      expect(scopeQuery(q, { all: true }, limits).ok, q).toBe(true);
    }
  });
});
