// The control plane's own Prometheus metrics (GET /metrics): its HTTP traffic, policy decisions,
// environments and deployments (counted by the store at scrape time, a few aggregate rows however
// long the history), the rollout reconciler's lag, and the edge proxy's per-release figures and the
// replicas' own (up, restarts, CPU, memory) stamped with team, service, env, namespace, release.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Kysely } from 'kysely';
import { DeploymentStatus, type EnvironmentStatus } from '@idp/contracts';
import { shortRef, type Decision } from '@idp/core';
import { PROMETHEUS_LATENCY_BUCKETS, type PrometheusFigures } from '@idp/runtime-local';
import type { Database, Dialect } from '../../store/index.ts';
import type { ReconcilerLag } from './reconciler-lag.ts';
import { replicaMetricsText } from './replica-metrics.ts';
import { parseReleaseKey, type RunningRelease } from './scrape-targets.ts';
import { registerDurationHistogram } from './sql-histogram.ts';

/** Buckets (seconds) of the control plane's HTTP latency: the same as the proxy's. */
const HTTP_BUCKETS = [...PROMETHEUS_LATENCY_BUCKETS];
/** Provisioning an environment and rolling out a deployment take seconds to many minutes. */
const SLOW_BUCKETS = [1, 2, 5, 10, 20, 30, 60, 120, 300, 600, 1800];

const ENVIRONMENT_STATUSES: readonly EnvironmentStatus[] = ['provisioning', 'ready', 'failed', 'deleting', 'deleted'];
/** Every status, so a new one cannot be left out of both deployment metrics. */
const DEPLOYMENT_STAGE: Record<DeploymentStatus, 'active' | 'ended'> = {
  pending: 'active',
  progressing: 'active',
  paused: 'active',
  healthy: 'ended',
  rolled_back: 'ended',
  aborted: 'ended',
  failed: 'ended',
};
const deploymentStatuses = (stage: 'active' | 'ended'): DeploymentStatus[] =>
  DeploymentStatus.options.filter((s) => DEPLOYMENT_STAGE[s] === stage);
const ACTIVE_DEPLOYMENT = deploymentStatuses('active');
const ENDED_DEPLOYMENT = deploymentStatuses('ended');

/** The route label of a request Fastify matched to no route (404s): never the raw URL. */
export const UNMATCHED_ROUTE = 'unmatched';

export interface ControlPlaneMetricsDeps {
  db: Kysely<Database>;
  /** The store's SQL dialect (the durations are computed by the database). */
  dialect: Dialect;
  /** The edge proxy's per-release figures (EdgeProxy.prometheusFigures), read at scrape time. */
  proxy: { prometheusFigures(): PrometheusFigures[] };
  /** The catalog owner of a service (`group:default/payments`), for the team label. */
  ownerOf: (service: string) => Promise<string | null>;
  reconciler: ReconcilerLag;
  /** The releases the supervisor runs now, with their replicas, read at scrape time. */
  replicas(): RunningRelease[];
}

export class ControlPlaneMetrics {
  readonly registry = new Registry();
  private readonly httpRequests: Counter<'method' | 'route' | 'status'>;
  private readonly httpDuration: Histogram<'method' | 'route'>;
  private readonly decisions: Counter<'action' | 'decision'>;

  constructor(private readonly deps: ControlPlaneMetricsDeps) {
    const registers = [this.registry];
    this.httpRequests = new Counter({
      name: 'idp_http_requests_total',
      help: 'HTTP requests the control plane answered, by method, route pattern and status code.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.httpDuration = new Histogram({
      name: 'idp_http_request_duration_seconds',
      help: 'Time the control plane took to answer, by method and route pattern.',
      labelNames: ['method', 'route'],
      buckets: HTTP_BUCKETS,
      registers,
    });
    this.decisions = new Counter({
      name: 'idp_policy_decisions_total',
      help: 'Policy decisions of the gate, by action and outcome.',
      labelNames: ['action', 'decision'],
      registers,
    });
    const db = deps.db;
    new Gauge({
      name: 'idp_environments',
      help: 'Environments by status (rows of the state store, deleted ones included).',
      labelNames: ['status'],
      registers,
      async collect() {
        const rows = await db
          .selectFrom('environments')
          .select(['status', (eb) => eb.fn.countAll<number | string>().as('n')])
          .groupBy('status')
          .execute();
        this.reset();
        for (const status of ENVIRONMENT_STATUSES) this.set({ status }, 0);
        for (const r of rows) this.set({ status: r.status }, Number(r.n));
      },
    });
    registerDurationHistogram(this.registry, db, deps.dialect, {
      name: 'idp_environment_provision_seconds',
      help: 'Time from env:create to ready, of every environment that became ready.',
      buckets: SLOW_BUCKETS,
      table: 'environments',
      from: 'created_at',
      to: 'ready_at',
      kind: 'ephemeral',
    });
    const byStatus = async (statuses: readonly DeploymentStatus[]) =>
      db
        .selectFrom('deployments')
        .select(['status', (eb) => eb.fn.countAll<number | string>().as('n')])
        .where('status', 'in', statuses)
        .groupBy('status')
        .execute();
    // A counter only counts what never changes again (ended deployments), so it never goes down;
    // the ones still rolling out are a gauge beside it.
    new Counter({
      name: 'idp_deployments_total',
      help: 'Deployments (deploys and rollbacks) that ended, by how they ended.',
      labelNames: ['status'],
      registers,
      async collect() {
        const rows = await byStatus(ENDED_DEPLOYMENT);
        this.reset();
        for (const status of ENDED_DEPLOYMENT) this.inc({ status }, 0);
        for (const r of rows) this.inc({ status: r.status }, Number(r.n));
      },
    });
    new Gauge({
      name: 'idp_deployments_active',
      help: 'Deployments still rolling out, by status.',
      labelNames: ['status'],
      registers,
      async collect() {
        const rows = await byStatus(ACTIVE_DEPLOYMENT);
        this.reset();
        for (const status of ACTIVE_DEPLOYMENT) this.set({ status }, 0);
        for (const r of rows) this.set({ status: r.status }, Number(r.n));
      },
    });
    registerDurationHistogram(this.registry, db, deps.dialect, {
      name: 'idp_deployment_duration_seconds',
      help: 'Time from the deploy request to the rollout’s end, of every finished deployment.',
      buckets: SLOW_BUCKETS,
      table: 'deployments',
      from: 'created_at',
      to: 'finished_at',
    });
    const reconciler = deps.reconciler;
    new Gauge({
      name: 'idp_reconciler_lag_seconds',
      help: 'How far behind its tick the slowest running rollout loop is: seconds since its last observation beyond the tick interval (0 when every rollout is on time or none runs).',
      registers,
      collect() {
        this.set(reconciler.lagSeconds());
      },
    });
  }

  /** One answered HTTP request; `route` is the matched pattern, or undefined when no route matched. */
  observeHttp(method: string, route: string | undefined, status: number, seconds: number): void {
    const r = route ?? UNMATCHED_ROUTE;
    this.httpRequests.inc({ method, route: r, status: String(status) });
    this.httpDuration.observe({ method, route: r }, seconds);
  }

  /** One decision of the policy gate (PolicyGate.onDecision). */
  observeDecision(action: string, decision: Decision): void {
    this.decisions.inc({ action, decision: decision.decision });
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The whole exposition: the registry's metrics, then the proxy's and the replicas' stamped figures. */
  async text(): Promise<string> {
    const figures = this.deps.proxy.prometheusFigures();
    const running = this.deps.replicas();
    const [own, stamps] = await Promise.all([
      this.registry.metrics(),
      this.stamps([...figures.map((f) => f.release), ...running.map((r) => r.release)]),
    ]);
    const replicas = running.flatMap((r) => {
      const stamp = stamps.get(r.release);
      return stamp === undefined ? [] : [{ stamp, replicas: r.replicas }];
    });
    return `${own}\n${proxyText(figures, stamps)}\n${replicaMetricsText(replicas)}`;
  }

  /** Release key (`ns/service@version`) → its label pairs; keys of another shape are left out. */
  private async stamps(keys: readonly string[]): Promise<Map<string, string>> {
    const parsed = [...new Set(keys)].flatMap((key) => {
      const parts = parseReleaseKey(key);
      return parts ? [{ key, ...parts }] : [];
    });
    const envs = await this.environmentsByNamespace(parsed.map((p) => p.namespace));
    const teams = new Map<string, Promise<string>>();
    const teamOf = (service: string): Promise<string> => {
      let team = teams.get(service);
      if (!team) {
        team = this.deps.ownerOf(service).then((o) => (o ? shortRef(o) : ''));
        teams.set(service, team);
      }
      return team;
    };
    const out = new Map<string, string>();
    for (const p of parsed) {
      const stamp = labelText({
        team: await teamOf(p.service),
        service: p.service,
        env: envs.get(p.namespace) ?? '',
        namespace: p.namespace,
        release: p.version,
      });
      out.set(p.key, stamp);
    }
    return out;
  }

  /** namespace → environment name; a live environment wins over a deleted one that had the namespace. */
  private async environmentsByNamespace(all: readonly string[]): Promise<Map<string, string>> {
    const namespaces = [...new Set(all)];
    const out = new Map<string, string>();
    if (namespaces.length === 0) return out;
    const rows = await this.deps.db
      .selectFrom('environments')
      .select(['name', 'namespace', 'deleted_at'])
      .where('namespace', 'in', namespaces)
      .execute();
    for (const r of rows) if (r.deleted_at === null || !out.has(r.namespace)) out.set(r.namespace, r.name);
    return out;
  }
}

/** The edge proxy's requests and latency, one series set per release that has a stamp. */
function proxyText(figures: readonly PrometheusFigures[], stamps: ReadonlyMap<string, string>): string {
  const requests = [
    '# HELP idp_proxy_requests_total Requests the edge proxy answered, by release and status class.',
    '# TYPE idp_proxy_requests_total counter',
  ];
  const latency = [
    '# HELP idp_proxy_request_duration_seconds Time the edge proxy took to answer, by release.',
    '# TYPE idp_proxy_request_duration_seconds histogram',
  ];
  for (const f of figures) {
    const stamp = stamps.get(f.release);
    if (stamp === undefined) continue;
    for (const [code, n] of Object.entries(f.codes))
      requests.push(`idp_proxy_requests_total{${stamp},code="${code}"} ${n}`);
    PROMETHEUS_LATENCY_BUCKETS.forEach((le, i) =>
      latency.push(`idp_proxy_request_duration_seconds_bucket{${stamp},le="${le}"} ${f.cumulativeBuckets[i]}`),
    );
    latency.push(`idp_proxy_request_duration_seconds_bucket{${stamp},le="+Inf"} ${f.count}`);
    latency.push(`idp_proxy_request_duration_seconds_sum{${stamp}} ${f.sumSeconds}`);
    latency.push(`idp_proxy_request_duration_seconds_count{${stamp}} ${f.count}`);
  }
  return `${requests.join('\n')}\n\n${latency.join('\n')}\n`;
}

/** Prometheus text-format label pairs, values escaped (backslash, double quote, newline). */
function labelText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`)
    .join(',');
}
