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

/** The dashboard class's samples at time t (seconds): [name, labels, value]. */
function dashboardSamples(t: number): Array<[string, string, string]> {
  const out: Array<[string, string, string]> = [];
  TEAMS.forEach((team, ti) => {
    for (const [si, kind] of SERVICE_KINDS.entries()) {
      for (const [ei, env] of ENVS.entries()) {
        const labels = `team="${team}",service="${team}-${kind}",env="${env}",namespace="${team}-${env}"`;
        const perSecond = 5 + ti * 3 + si * 7 + ei * 11;
        // A latency spread per service: the share of requests at or under each bucket's bound.
        const scale = 0.02 * (1 + ((ti + si + ei) % 5));
        for (const le of BUCKETS) {
          const share = le === '+Inf' ? 1 : 1 - Math.exp(-Number(le) / scale);
          const value = String(Math.floor(t * perSecond * share));
          out.push(['http_request_duration_seconds_bucket', `${labels},le="${le}"`, value]);
        }
        out.push(['http_request_duration_seconds_sum', labels, (t * perSecond * scale).toFixed(3)]);
        out.push(['http_request_duration_seconds_count', labels, String(t * perSecond)]);
        CODES.forEach((code, ci) => {
          const share = ci === 0 ? 0.9 : ci === 1 ? 0.08 : 0.02;
          out.push(['http_requests_total', `${labels},code="${code}"`, String(Math.floor(t * perSecond * share))]);
        });
      }
    }
  });
  return out;
}

/** The exporter's body: counters that grow with time, so rate() and histogram_quantile have something to say. */
export function exposition(): string {
  const t = Math.floor(Date.now() / 1000);
  const lines = SMALL_SERIES.map(
    ([team, service, env, code, perSecond]) =>
      `idp_proxy_requests_total{team="${team}",service="${service}",env="${env}",namespace="${env}",release="${service}@v1",code="${code}"} ${t * perSecond}`,
  );
  lines.unshift('# TYPE idp_proxy_requests_total counter');
  for (const [name, labels, value] of dashboardSamples(t)) lines.push(`${name}{${labels}} ${value}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The dashboard series' past, as the scrapes would have stored it (same job and instance labels),
 * every `step` seconds from `from` to `to`: OpenMetrics for `promtool tsdb create-blocks-from`.
 */
export function dashboardHistory(from: number, to: number, step: number, targetLabels: string): string {
  const families = new Map<string, string[]>();
  for (let t = from; t <= to; t += step) {
    for (const [name, labels, value] of dashboardSamples(t)) {
      let lines = families.get(name);
      if (!lines) families.set(name, (lines = []));
      lines.push(`${name}{${labels},${targetLabels}} ${value} ${t}`);
    }
  }
  let out = '';
  for (const [name, lines] of families) out += `# TYPE ${name} unknown\n${lines.join('\n')}\n`;
  return `${out}# EOF\n`;
}

export interface BenchQuery {
  query: string;
  /** A query_range over the last `seconds` at `step`; an instant query without. */
  range?: { seconds: number; step: number };
}

export interface QueryClass {
  name: string;
  about: string;
  queries: BenchQuery[];
  /**
   * Rounds of slices per path (each path takes its turn in every round), and queries per slice:
   * short slices, so that a slow moment of the machine or of Prometheus lands on the paths alike.
   */
  rounds: number;
  /** Rounds for the unscoped paths (Prometheus as written, the admin, the bare relay); default rounds. */
  referenceRounds?: number;
  perSlice: number;
  /** Whether the first query's answer (as an admin) shows every series scraped twice. */
  readyWhen: (resultCount: number) => boolean;
}

const SERVICES = TEAMS.length * SERVICE_KINDS.length * ENVS.length;

export const QUERY_CLASSES: QueryClass[] = [
  {
    name: 'small',
    about: "a service page's queries over 5 series: 3 instant, 1 range (5 min, step 15 s)",
    queries: [
      { query: 'sum by (service) (rate(idp_proxy_requests_total[1m]))' },
      { query: 'sum by (service, code) (rate(idp_proxy_requests_total{code="5xx"}[1m]))' },
      {
        query:
          'sum by (service) (rate(idp_proxy_requests_total{code="5xx"}[1m])) / sum by (service) (rate(idp_proxy_requests_total[1m]))',
      },
      { query: 'sum by (service) (rate(idp_proxy_requests_total[1m]))', range: { seconds: 300, step: 15 } },
    ],
    rounds: 100,
    perSlice: 10,
    readyWhen: (n) => n === 3,
  },
  {
    name: 'dashboard-now',
    about: `a team dashboard's current-value panels over ${DASHBOARD_SERIES} series: 4 instant queries (p99 from histogram buckets, rates by code, error ratio, mean latency)`,
    queries: [
      { query: 'histogram_quantile(0.99, sum by (le, service, env) (rate(http_request_duration_seconds_bucket[1m])))' },
      { query: 'sum by (service, env, code) (rate(http_requests_total[1m]))' },
      {
        query:
          'sum by (service) (rate(http_requests_total{code="5xx"}[1m])) / sum by (service) (rate(http_requests_total[1m]))',
      },
      {
        query:
          'sum by (service) (rate(http_request_duration_seconds_sum[1m])) / sum by (service) (rate(http_request_duration_seconds_count[1m]))',
      },
    ],
    rounds: 50,
    perSlice: 10,
    readyWhen: (n) => n === SERVICES,
  },
  {
    name: 'dashboard-1h',
    about: `a team dashboard's graphs over the last hour of the same series: 3 range queries (1 h, step 15 s: p99 from histogram buckets, rates by code, error ratio)`,
    queries: [
      {
        query: 'histogram_quantile(0.99, sum by (le, service) (rate(http_request_duration_seconds_bucket[1m])))',
        range: { seconds: 3600, step: 15 },
      },
      { query: 'sum by (service, env, code) (rate(http_requests_total[5m]))', range: { seconds: 3600, step: 15 } },
      {
        query:
          'sum by (service) (rate(http_requests_total{code="5xx"}[5m])) / sum by (service) (rate(http_requests_total[5m]))',
        range: { seconds: 3600, step: 15 },
      },
    ],
    rounds: 200,
    referenceRounds: 60,
    perSlice: 3,
    readyWhen: (n) => n > 0,
  },
];
