import Fastify from 'fastify';
import type { Decision } from '@idp/core';
import { describe, expect, it } from 'vitest';
import { prometheusFigures, ReleaseStats } from '../../../../../providers/runtime-local/src/metrics.ts';
import { tempSqliteStore } from '../../../../../test/support/sqlite.ts';
import { insertEnv, provisioningEnv } from '../../../../../test/support/env-rows.ts';
import { instrumentHttp } from './http-metrics.ts';
import { ControlPlaneMetrics } from './metrics-registry.ts';
import { ReconcilerLag } from './reconciler-lag.ts';
import type { RunningRelease } from './scrape-targets.ts';

/** The value of one sample line `name{labels} value` of the exposition, or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('ControlPlaneMetrics', () => {
  const tmp = tempSqliteStore('metrics');

  function metricsWith(
    stats: ReleaseStats[] = [],
    lag = new ReconcilerLag(),
    replicas: RunningRelease[] = [],
  ): ControlPlaneMetrics {
    return new ControlPlaneMetrics({
      db: tmp.store.db,
      dialect: 'sqlite',
      proxy: { prometheusFigures: () => stats.map(prometheusFigures) },
      ownerOf: async (service) => (service === 'payments-api' ? 'group:default/payments' : null),
      reconciler: lag,
      replicas: () => replicas,
    });
  }

  it('labels HTTP requests with the route pattern, and unknown routes as unmatched', async () => {
    const metrics = metricsWith();
    const app = Fastify();
    instrumentHttp(app, metrics);
    app.get('/api/environments/:name', async (req) => ({ name: (req.params as { name: string }).name }));
    for (const name of ['a', 'b', 'c']) await app.inject({ method: 'GET', url: `/api/environments/${name}?x=1` });
    await app.inject({ method: 'GET', url: '/no/such/path/123' });
    const text = await metrics.text();
    expect(sample(text, 'idp_http_requests_total{method="GET",route="/api/environments/:name",status="200"}')).toBe(3);
    expect(sample(text, 'idp_http_requests_total{method="GET",route="unmatched",status="404"}')).toBe(1);
    expect(text).not.toMatch(/route="\/api\/environments\/a"/);
    expect(text).not.toContain('/no/such/path');
    expect(sample(text, 'idp_http_request_duration_seconds_count{method="GET",route="/api/environments/:name"}')).toBe(
      3,
    );
    await app.close();
  });

  it('counts policy decisions by action and outcome', async () => {
    const metrics = metricsWith();
    const allow: Decision = { decision: 'allow', reason: '', permittedBy: [], forbiddenBy: [], errors: [] };
    metrics.observeDecision('env:create', allow);
    metrics.observeDecision('env:create', allow);
    metrics.observeDecision('env:create', { ...allow, decision: 'deny' });
    const text = await metrics.text();
    expect(sample(text, 'idp_policy_decisions_total{action="env:create",decision="allow"}')).toBe(2);
    expect(sample(text, 'idp_policy_decisions_total{action="env:create",decision="deny"}')).toBe(1);
  });

  it('reads environments and their provisioning time from the store at scrape time', async () => {
    const metrics = metricsWith();
    const before = await metrics.text();
    expect(sample(before, 'idp_environments{status="ready"}')).toBe(0);
    const t0 = new Date('2026-01-01T00:00:00.000Z');
    await insertEnv(tmp.store.db, provisioningEnv('one', t0));
    await insertEnv(
      tmp.store.db,
      provisioningEnv('two', t0, { status: 'ready', ready_at: new Date(t0.getTime() + 7_000).toISOString() }),
    );
    const text = await metrics.text();
    expect(sample(text, 'idp_environments{status="provisioning"}')).toBe(1);
    expect(sample(text, 'idp_environments{status="ready"}')).toBe(1);
    expect(sample(text, 'idp_environment_provision_seconds_count')).toBe(1);
    expect(sample(text, 'idp_environment_provision_seconds_sum')).toBe(7);
    expect(sample(text, 'idp_environment_provision_seconds_bucket{le="5"}')).toBe(0);
    expect(sample(text, 'idp_environment_provision_seconds_bucket{le="10"}')).toBe(1);
  });

  it('counts ended deployments (never going down) apart from those still rolling out, and times them', async () => {
    const row = (id: string, status: 'progressing' | 'healthy', finishedAt: string | null) => ({
      id,
      service: 'payments-api',
      env: 'feat',
      namespace: 'feat-alice',
      version: 'v1',
      previous_version: null,
      kind: 'deploy' as const,
      strategy: 'canary' as const,
      status,
      reason: null,
      state: '{}',
      promotes: 0,
      abort_requested: 0,
      processes: null,
      created_at: '2026-01-01T00:00:00.000Z',
      created_by: 'user:default/alice',
      finished_at: finishedAt,
    });
    await tmp.store.db
      .insertInto('deployments')
      .values([row('dep_1', 'progressing', null), row('dep_2', 'healthy', '2026-01-01T00:00:45.000Z')])
      .execute();
    const text = await metricsWith().text();
    expect(sample(text, 'idp_deployments_total{status="healthy"}')).toBe(1);
    expect(sample(text, 'idp_deployments_total{status="failed"}')).toBe(0);
    expect(sample(text, 'idp_deployments_total{status="progressing"}')).toBeUndefined();
    expect(sample(text, 'idp_deployments_active{status="progressing"}')).toBe(1);
    expect(sample(text, 'idp_deployments_active{status="paused"}')).toBe(0);
    expect(sample(text, 'idp_deployment_duration_seconds_count')).toBe(1);
    expect(sample(text, 'idp_deployment_duration_seconds_sum')).toBe(45);
    expect(sample(text, 'idp_deployment_duration_seconds_bucket{le="30"}')).toBe(0);
    expect(sample(text, 'idp_deployment_duration_seconds_bucket{le="60"}')).toBe(1);
  });

  it('stamps the proxy’s per-release figures with team, service, env, namespace and release', async () => {
    const t0 = new Date('2026-01-01T00:00:00.000Z');
    await insertEnv(tmp.store.db, provisioningEnv('feat', t0, { status: 'ready', namespace: 'feat-alice' }));
    const stats = new ReleaseStats('feat-alice/payments-api@abc123-def456');
    stats.record(200, 3, false);
    stats.record(200, 30, false);
    stats.record(500, 300, false);
    const text = await metricsWith([stats]).text();
    const stamp = 'team="payments",service="payments-api",env="feat",namespace="feat-alice",release="abc123-def456"';
    expect(sample(text, `idp_proxy_requests_total{${stamp},code="2xx"}`)).toBe(2);
    expect(sample(text, `idp_proxy_requests_total{${stamp},code="5xx"}`)).toBe(1);
    expect(sample(text, `idp_proxy_requests_total{${stamp},code="4xx"}`)).toBe(0);
    expect(sample(text, `idp_proxy_request_duration_seconds_bucket{${stamp},le="0.005"}`)).toBe(1);
    expect(sample(text, `idp_proxy_request_duration_seconds_bucket{${stamp},le="0.05"}`)).toBe(2);
    expect(sample(text, `idp_proxy_request_duration_seconds_bucket{${stamp},le="0.5"}`)).toBe(3);
    expect(sample(text, `idp_proxy_request_duration_seconds_bucket{${stamp},le="+Inf"}`)).toBe(3);
    expect(sample(text, `idp_proxy_request_duration_seconds_count{${stamp}}`)).toBe(3);
    expect(sample(text, `idp_proxy_request_duration_seconds_sum{${stamp}}`)).toBeCloseTo(0.333, 9);
    // One HELP and TYPE per family, even with several releases.
    expect(text.match(/^# TYPE idp_proxy_requests_total counter$/gm)).toHaveLength(1);
  });

  it('stamps the replicas’ figures like the proxy’s, with the replica’s number', async () => {
    const replica = (index: number, status: 'ready' | 'crashed', restarts: number) => ({
      release: 'feat-alice/payments-api@abc123-def456',
      index,
      pid: null,
      pgid: null,
      port: 1,
      status,
      restarts,
      lastExitCode: null,
      lastExitSignal: null,
      startedAt: null,
      readyAt: null,
      logFile: '/dev/null',
    });
    const running: RunningRelease[] = [
      {
        release: 'feat-alice/payments-api@abc123-def456',
        replicas: [replica(0, 'ready', 0), replica(1, 'crashed', 2)],
      },
      { release: 'not-a-release-key', replicas: [replica(0, 'ready', 0)] },
    ];
    const text = await metricsWith([], new ReconcilerLag(), running).text();
    const stamp = 'team="payments",service="payments-api",env="feat",namespace="feat-alice",release="abc123-def456"';
    expect(sample(text, `idp_replica_up{${stamp},replica="1"}`)).toBe(1);
    expect(sample(text, `idp_replica_up{${stamp},replica="2"}`)).toBe(0);
    expect(sample(text, `idp_replica_restarts_total{${stamp},replica="2"}`)).toBe(2);
    expect(text).not.toContain('not-a-release-key');
    expect(text.match(/^idp_replica_up\{/gm)).toHaveLength(2);
  });

  it('reports reconciler lag beyond the tick of the oldest observed rollout', async () => {
    let now = 1_000_000;
    const lag = new ReconcilerLag(() => now, 200);
    const metrics = metricsWith([], lag);
    expect(sample(await metrics.text(), 'idp_reconciler_lag_seconds')).toBe(0);
    lag.observed('dep_a');
    now += 150;
    expect(sample(await metrics.text(), 'idp_reconciler_lag_seconds')).toBe(0);
    lag.observed('dep_b');
    now += 2_050; // dep_a last observed 2.2 s ago: 2 s late
    expect(sample(await metrics.text(), 'idp_reconciler_lag_seconds')).toBe(2);
    lag.ended('dep_a');
    expect(sample(await metrics.text(), 'idp_reconciler_lag_seconds')).toBe(1.85);
  });
});
