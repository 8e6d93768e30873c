// What the observability bench's Prometheus scrapes, and the queries it times, by class:
// - small: a handful of proxy counters of two teams (5 series), the queries of a service's page;
// - dashboard: an exporter of 8 teams × 3 services × 2 environments with a latency histogram
//   (12 buckets) and request counters by code, 816 series, and the queries of a team dashboard
//   over them (histogram_quantile over the buckets, rates by service and code, an error ratio).

const SMALL_SERIES: Array<[string, string, string, string, number]> = [
  ['payments', 'payments-api', 'staging', '2xx', 10],
  ['payments', 'payments-api', 'staging', '5xx', 1],
  ['payments', 'payments-worker', 'production', '2xx', 4],
  ['identity', 'identity-api', 'identity-sandbox', '2xx', 7],
  ['identity', 'identity-api', 'identity-sandbox', '5xx', 2],
];

const TEAMS = ['payments', 'identity', 'search', 'checkout', 'ledger', 'notifications', 'catalog', 'platform'];
const SERVICE_KINDS = ['api', 'worker', 'gateway'];
const ENVS = ['staging', 'production'];
const BUCKETS = ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'];
const CODES = ['2xx', '4xx', '5xx'];

/** Series in the dashboard class's exporter (bucket, sum and count per service, and counters by code). */
export const DASHBOARD_SERIES = TEAMS.length * SERVICE_KINDS.length * ENVS.length * (BUCKETS.length + 2 + CODES.length);

/** The exporter's body: counters that grow with time, so rate() and histogram_quantile have something to say. */
export function exposition(): string {
  const t = Math.floor(Date.now() / 1000);
  const lines = SMALL_SERIES.map(
    ([team, service, env, code, perSecond]) =>
      `idp_proxy_requests_total{team="${team}",service="${service}",env="${env}",namespace="${env}",release="${service}@v1",code="${code}"} ${t * perSecond}`,
  );
  lines.unshift('# TYPE idp_proxy_requests_total counter');
  const buckets: string[] = ['# TYPE http_request_duration_seconds histogram'];
  const counters: string[] = ['# TYPE http_requests_total counter'];
  TEAMS.forEach((team, ti) => {
    for (const [si, kind] of SERVICE_KINDS.entries()) {
      for (const [ei, env] of ENVS.entries()) {
        const labels = `team="${team}",service="${team}-${kind}",env="${env}",namespace="${team}-${env}"`;
        const perSecond = 5 + ti * 3 + si * 7 + ei * 11;
        // A latency spread per service: the share of requests at or under each bucket's bound.
        const scale = 0.02 * (1 + ((ti + si + ei) % 5));
        BUCKETS.forEach((le) => {
          const bound = le === '+Inf' ? Infinity : Number(le);
          const share = bound === Infinity ? 1 : 1 - Math.exp(-bound / scale);
          buckets.push(
            `http_request_duration_seconds_bucket{${labels},le="${le}"} ${Math.floor(t * perSecond * share)}`,
          );
        });
        buckets.push(`http_request_duration_seconds_sum{${labels}} ${(t * perSecond * scale).toFixed(3)}`);
        buckets.push(`http_request_duration_seconds_count{${labels}} ${t * perSecond}`);
        CODES.forEach((code, ci) => {
          const share = ci === 0 ? 0.9 : ci === 1 ? 0.08 : 0.02;
          counters.push(`http_requests_total{${labels},code="${code}"} ${Math.floor(t * perSecond * share)}`);
        });
      }
    }
  });
  return `${[...lines, ...buckets, ...counters].join('\n')}\n`;
}

export interface QueryClass {
  name: string;
  /** Instant queries; the range query is the first of them over `rangeSeconds` at `step`. */
  instant: string[];
  range: { query: string; seconds: number; step: number };
  /** The result count an admin sees for instant[0] once every series has two samples. */
  readyWhen: (resultCount: number) => boolean;
}

export const QUERY_CLASSES: QueryClass[] = [
  {
    name: 'small',
    instant: [
      'sum by (service) (rate(idp_proxy_requests_total[1m]))',
      'sum by (service, code) (rate(idp_proxy_requests_total{code="5xx"}[1m]))',
      'sum by (service) (rate(idp_proxy_requests_total{code="5xx"}[1m])) / sum by (service) (rate(idp_proxy_requests_total[1m]))',
    ],
    range: { query: 'sum by (service) (rate(idp_proxy_requests_total[1m]))', seconds: 300, step: 15 },
    readyWhen: (n) => n === 3,
  },
  {
    name: 'dashboard',
    instant: [
      'histogram_quantile(0.99, sum by (le, service, env) (rate(http_request_duration_seconds_bucket[1m])))',
      'sum by (service, env, code) (rate(http_requests_total[1m]))',
      'sum by (service) (rate(http_requests_total{code="5xx"}[1m])) / sum by (service) (rate(http_requests_total[1m]))',
      'sum by (service) (rate(http_request_duration_seconds_sum[1m])) / sum by (service) (rate(http_request_duration_seconds_count[1m]))',
    ],
    range: {
      query: 'histogram_quantile(0.95, sum by (le, service) (rate(http_request_duration_seconds_bucket[1m])))',
      seconds: 900,
      step: 15,
    },
    readyWhen: (n) => n === TEAMS.length * SERVICE_KINDS.length * ENVS.length,
  },
];
