// Query gate overhead: latency of PromQL queries through idp's gate (/api/observability/query and
// /query_range, as a developer, so the team scope rewrite really runs) against the same queries sent
// straight to Prometheus, in the same run (targets, developer against direct: ≤ 1.2× at p50, ≤ 5 ms added at p99).
//
// A real Prometheus (/usr/bin/prometheus, or IDP_PROMETHEUS_PATH) with a throw-away config scrapes a
// tiny exporter every second whose series belong to two teams; the control plane runs in this
// process (startTestServer) with observability.prometheus.url pointing at that Prometheus. Queries
// are sent one at a time over keep-alive connections; the two paths take turns in short slices so
// that load from elsewhere on the machine hits both alike.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { parseDocument } from 'yaml';
import { ACME_CONFIG, startTestServer, type TestServer } from '../test/support/server.ts';
import { userTokens } from '../test/support/tokens.ts';
import { startScrapedPrometheus, type ScrapedPrometheus } from '../test/support/prometheus.ts';

const ROUNDS = Number(process.env.BENCH_OBSERVABILITY_ROUNDS ?? 20);
const PER_SLICE = Number(process.env.BENCH_OBSERVABILITY_PER_SLICE ?? 50);
const TARGET_RATIO_P50 = 1.2;
const TARGET_ADDED_P99_MS = 5;

const INSTANT_QUERIES = [
  'sum by (service) (rate(idp_proxy_requests_total[1m]))',
  'sum by (service, code) (rate(idp_proxy_requests_total{code="5xx"}[1m]))',
  'sum by (service) (rate(idp_proxy_requests_total{code="5xx"}[1m])) / sum by (service) (rate(idp_proxy_requests_total[1m]))',
];
const RANGE_QUERY = 'sum by (service) (rate(idp_proxy_requests_total[1m]))';

/** Exporter body: proxy counters for two teams that grow with time, so rate() has something to say. */
function exposition(): string {
  const t = Math.floor(Date.now() / 1000);
  const series: Array<[string, string, string, string, number]> = [
    ['payments', 'payments-api', 'staging', '2xx', 10],
    ['payments', 'payments-api', 'staging', '5xx', 1],
    ['payments', 'payments-worker', 'production', '2xx', 4],
    ['identity', 'identity-api', 'identity-sandbox', '2xx', 7],
    ['identity', 'identity-api', 'identity-sandbox', '5xx', 2],
  ];
  const lines = series.map(
    ([team, service, env, code, perSecond]) =>
      `idp_proxy_requests_total{team="${team}",service="${service}",env="${env}",namespace="${env}",release="${service}@v1",code="${code}"} ${t * perSecond}`,
  );
  return `# TYPE idp_proxy_requests_total counter\n${lines.join('\n')}\n`;
}

async function poll<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch {
      /* not yet */
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Target {
  name: string;
  base: string;
  /** Path prefix in front of `/query` and `/query_range`. */
  prefix: string;
  token?: string;
  agent: Agent;
  latencies: number[];
  errors: number;
}

/** One GET, timed from send to the last byte of the body; resolves the latency in ms. */
function get(target: Target, path: string): Promise<{ ms: number; status: number; body: string }> {
  return new Promise((resolveGet, reject) => {
    const start = performance.now();
    const req = request(
      `${target.base}${target.prefix}${path}`,
      { agent: target.agent, headers: target.token ? { authorization: `Bearer ${target.token}` } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.once('end', () =>
          resolveGet({
            ms: performance.now() - start,
            status: res.statusCode ?? 0,
            body: Buffer.concat(chunks).toString(),
          }),
        );
      },
    );
    req.once('error', reject);
    req.end();
  });
}

function queryPaths(): string[] {
  const now = Math.floor(Date.now() / 1000);
  return [
    ...INSTANT_QUERIES.map((q) => `/query?query=${encodeURIComponent(q)}`),
    `/query_range?query=${encodeURIComponent(RANGE_QUERY)}&start=${now - 300}&end=${now}&step=15`,
  ];
}

async function slice(target: Target, paths: string[], count: number, record: boolean): Promise<void> {
  for (let i = 0; i < count; i++) {
    const res = await get(target, paths[i % paths.length]!);
    if (res.status !== 200) target.errors++;
    else if (record) target.latencies.push(res.ms);
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function summarize(target: Target) {
  const sorted = [...target.latencies].sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), n: sorted.length };
}

export async function run(): Promise<Record<string, number | string>> {
  let prom: ScrapedPrometheus | undefined;
  let server: TestServer | undefined;
  const agents: Agent[] = [];
  try {
    prom = await startScrapedPrometheus(exposition);
    const prometheus = prom.process;
    const promUrl = prom.url;
    const promExit = new Promise<never>((_, reject) =>
      prometheus!.once('exit', (code) => reject(new Error(`prometheus exited with ${code}`))),
    );
    promExit.catch(() => {});
    await Promise.race([
      poll('Prometheus ready', async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined)),
      promExit,
    ]);
    // Both teams' rates known (two scrapes of every series).
    const ratesQuery = `${promUrl}/api/v1/query?query=${encodeURIComponent(INSTANT_QUERIES[0]!)}`;
    await poll('both teams scraped twice', async () => {
      const body = (await (await fetch(ratesQuery)).json()) as any;
      return body.data?.result?.length === 3 ? true : undefined;
    });

    const doc = parseDocument(readFileSync(ACME_CONFIG, 'utf8'));
    doc.setIn(['observability'], { prometheus: { url: promUrl } });
    const configPath = join(dirname(ACME_CONFIG), 'idp.observability-bench.config.yaml');
    writeFileSync(configPath, doc.toString());
    server = await startTestServer({ configPath });
    const { alice } = await userTokens(server, ['alice']);

    const target = (name: string, base: string, prefix: string, token?: string): Target => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      return { name, base, prefix, token, agent, latencies: [], errors: 0 };
    };
    const direct = target('prometheus', promUrl, '/api/v1');
    const gated = target('idp gate', server.url, '/api/observability', alice);
    // Breakdown only (no target): an admin's queries skip the scope lookup and rewrite, so the
    // difference to it is what scoping costs, and the rest is auth + HTTP hop + forwarding.
    const admin = target('gate, admin', server.url, '/api/observability', server.adminToken);
    const targets = [direct, gated, admin];

    // The gate really scopes: alice (payments) sees only payments' services.
    const check = await get(gated, `/query?query=${encodeURIComponent(INSTANT_QUERIES[0]!)}`);
    const services = ((JSON.parse(check.body) as any).data?.result ?? []).map((r: any) => r.metric.service).sort();
    if (check.status !== 200 || services.join(',') !== 'payments-api,payments-worker')
      throw new Error(`gate answered ${check.status} ${check.body.slice(0, 300)}`);

    // Warm-up (JIT, keep-alive sockets, Prometheus' caches), then measure in alternating slices.
    for (const t of targets) await slice(t, queryPaths(), PER_SLICE, false);
    for (let round = 0; round < ROUNDS; round++) {
      const paths = queryPaths();
      const order = round % 2 === 0 ? targets : [...targets].reverse();
      for (const t of order) await slice(t, paths, PER_SLICE, true);
    }

    const d = summarize(direct);
    const g = summarize(gated);
    const a = summarize(admin);
    const ratioP50 = g.p50 / d.p50;
    const addedP99 = g.p99 - d.p99;
    const ratioMet = ratioP50 <= TARGET_RATIO_P50;
    const addedMet = addedP99 <= TARGET_ADDED_P99_MS;
    const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const line = (name: string, s: typeof d, errors: number) =>
      `  ${name.padEnd(12)} p50 ${s.p50.toFixed(3)} ms  p95 ${s.p95.toFixed(3)} ms  p99 ${s.p99.toFixed(3)} ms  (${s.n} queries${errors ? `, ${errors} errors` : ''})`;
    console.log(
      `${INSTANT_QUERIES.length} instant queries + 1 query_range (5 min, step 15 s) in turn, one at a time, keep-alive; ${ROUNDS} rounds of alternating ${PER_SLICE}-query slices per path`,
    );
    console.log(
      `gate: in-process control plane, developer token (alice, team payments) so the scope rewrite runs; machine: ${availableParallelism()} cores, load average ${loadavg}`,
    );
    console.log(line('prometheus', d, direct.errors));
    console.log(line('idp gate', g, gated.errors));
    console.log(line('gate, admin', a, admin.errors));
    console.log(
      `  breakdown at p50: auth + hop + forwarding (admin) ${(a.p50 - d.p50).toFixed(3)} ms, developer scoping (scope lookup in Prometheus, deploy:read decisions, rewrite) ${(g.p50 - a.p50).toFixed(3)} ms`,
    );
    console.log(`  p50 ratio ${ratioP50.toFixed(2)}× (target ≤ ${TARGET_RATIO_P50}×: ${ratioMet ? 'met' : 'MISSED'})`);
    console.log(
      `  p99 added ${addedP99.toFixed(3)} ms (target ≤ ${TARGET_ADDED_P99_MS} ms: ${addedMet ? 'met' : 'MISSED'})`,
    );
    const ms = (v: number) => Number(v.toFixed(3));
    return {
      'direct p50 ms': ms(d.p50),
      'direct p95 ms': ms(d.p95),
      'direct p99 ms': ms(d.p99),
      'gate p50 ms': ms(g.p50),
      'gate p95 ms': ms(g.p95),
      'gate p99 ms': ms(g.p99),
      'admin gate p50 ms': ms(a.p50),
      'admin gate p99 ms': ms(a.p99),
      'p50 ratio': Number(ratioP50.toFixed(2)),
      'p99 added ms': ms(addedP99),
      'p50 target (≤1.2×)': ratioMet ? 'met' : 'missed',
      'p99 target (≤5 ms added)': addedMet ? 'met' : 'missed',
      errors: direct.errors + gated.errors + admin.errors,
    };
  } finally {
    for (const a of agents) a.destroy();
    await server?.stop();
    await prom?.stop();
    // The copy of examples/acme that test/support/server.ts made on import (and our config in it).
    rmSync(dirname(ACME_CONFIG), { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
