import type { DashboardPanelSpec, DashboardSpec } from '@idp/contracts';

/**
 * The golden-signal dashboard every service gets without writing anything: traffic, errors,
 * latency (p50, p99) from the edge proxy's metrics, and saturation (replicas up, restarts, CPU,
 * memory) from the replica metrics the supervisor stamps with team/service/env/namespace/release/
 * replica. Its name is the service's; $service is the service, $env the environment asked for.
 */
export function goldenDashboard(input: { service: string; team: string }): DashboardSpec {
  const sel = (extra = '') => `{service="$service",env="$env"${extra}}`;
  const latency = (q: number, label: string): DashboardPanelSpec => ({
    title: `Latency ${label}`,
    query: `histogram_quantile(${q}, sum by (le) (rate(idp_proxy_request_duration_seconds_bucket${sel()}[1m])))`,
    unit: 'seconds',
    legend: label,
  });
  return {
    name: input.service,
    title: `${input.service}: golden signals`,
    description: `Traffic, errors, latency and saturation of ${input.service}, generated for every service.`,
    team: input.team,
    service: input.service,
    panels: [
      {
        title: 'Traffic',
        query: `sum by (release) (rate(idp_proxy_requests_total${sel()}[1m]))`,
        unit: 'req/s',
        legend: '{{release}}',
      },
      {
        title: 'Errors (5xx share)',
        query: `(sum(rate(idp_proxy_requests_total${sel(',code="5xx"')}[1m])) or vector(0)) / sum(rate(idp_proxy_requests_total${sel()}[1m]))`,
        unit: 'ratio',
        legend: '5xx',
      },
      latency(0.5, 'p50'),
      latency(0.99, 'p99'),
      {
        title: 'Replicas up',
        query: `sum by (release) (idp_replica_up${sel()})`,
        unit: 'count',
        legend: '{{release}}',
      },
      {
        title: 'Restarts (per 5 min)',
        query: `sum by (release, replica) (increase(idp_replica_restarts_total${sel()}[5m]))`,
        unit: 'count',
        legend: '{{release}} #{{replica}}',
      },
      {
        title: 'CPU',
        query: `sum by (release, replica) (rate(idp_replica_cpu_seconds_total${sel()}[1m]))`,
        unit: 'cores',
        legend: '{{release}} #{{replica}}',
      },
      {
        title: 'Memory (resident)',
        query: `sum by (release, replica) (idp_replica_resident_memory_bytes${sel()})`,
        unit: 'bytes',
        legend: '{{release}} #{{replica}}',
      },
    ],
  };
}
