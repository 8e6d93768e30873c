// Query gate overhead: latency of PromQL queries through idp's gate (/api/observability/query and
// /query_range) against the same queries sent straight to Prometheus, in the same run, per class
// of query (bench/observability-exporter.ts): a service page's small queries over 5 series; a team
// dashboard's current values over an 816-series exporter with a latency histogram; the same
// dashboard's graphs over the last hour (an hour of history is loaded before Prometheus starts,
// bench/observability-prometheus.ts). Targets: the gate as a developer at most 1.2× Prometheus at
// p50 and at most 5 ms more at p99.
//
// The reference for the targets is Prometheus given the very query the gate forwards for the
// developer (their team and environments spliced into every selector), so both paths answer the
// same series and the difference is the gate alone (auth, scope, rewrite, the extra HTTP hop).
// Prometheus with the query as written (every team's series) and the gate as an admin (no
// rewrite) are shown beside it.
//
// A real Prometheus (/usr/bin/prometheus, or IDP_PROMETHEUS_PATH; promtool beside it) scrapes the
// exporter every second; the control plane runs in this process (startTestServer) with observability.prometheus.url
// pointing at it. Queries are sent one at a time over keep-alive connections; each path and its
// reference take turns in short slices so that load from elsewhere on the machine hits them alike.
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, createServer, request } from 'node:http';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { parseDocument } from 'yaml';
import { scopeQuery } from '@idp/core';
import { ACME_CONFIG, startTestServer, type TestServer } from '../test/support/server.ts';
import { userTokens } from '../test/support/tokens.ts';
import type { ScrapedPrometheus } from '../test/support/prometheus.ts';
import { DASHBOARD_SERIES, exposition, QUERY_CLASSES, type QueryClass } from './observability-exporter.ts';
import { startPrometheusWithHistory } from './observability-prometheus.ts';

/** More or fewer rounds than each class's own (e.g. 0.2 for a quick look). */
const SCALE = Number(process.env.BENCH_OBSERVABILITY_SCALE ?? 1);
const TARGET_RATIO_P50 = 1.2;
const TARGET_ADDED_P99_MS = 5;

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
  /** The query text this path sends for the one written (the scoped rewrite for `prometheus, scoped`). */
  text: (query: string) => string;
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

function queryPaths(cls: QueryClass, target: Target): string[] {
  const now = Math.floor(Date.now() / 1000);
  return cls.queries.map(({ query, range }) => {
    const q = encodeURIComponent(target.text(query));
    return range
      ? `/query_range?query=${q}&start=${now - range.seconds}&end=${now}&step=${range.step}`
      : `/query?query=${q}`;
  });
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

type Summary = { p50: number; p95: number; p99: number; n: number; errors: number };

function summarize(target: Target): Summary {
  const sorted = [...target.latencies].sort((a, b) => a - b);
  const [p50, p95, p99] = [50, 95, 99].map((p) => percentile(sorted, p)) as [number, number, number];
  return { p50, p95, p99, n: sorted.length, errors: target.errors };
}

interface Relay {
  url: string;
  close(): Promise<void>;
}

/**
 * The floor for any gate written in Node: a bare pass-through to Prometheus (node:http, kept-alive
 * connections, the answer piped back) with no auth, no scoping and no framework.
 */
async function startRelay(prometheusUrl: string): Promise<Relay> {
  const agent = new Agent({ keepAlive: true });
  const relay = createServer((req, res) => {
    const out = request(`${prometheusUrl}${req.url}`, { method: req.method, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.once('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(relay.address() as { port: number }).port}`,
    close: async () => {
      relay.closeAllConnections();
      agent.destroy();
      await new Promise<void>((resolve) => relay.close(() => resolve()));
    },
  };
}

const resultCount = (body: string): number => ((JSON.parse(body) as any).data?.result ?? []).length;

export async function run(): Promise<Record<string, number | string>> {
  let prom: ScrapedPrometheus | undefined;
  let server: TestServer | undefined;
  let relay: Relay | undefined;
  const agents: Agent[] = [];
  try {
    prom = await startPrometheusWithHistory(exposition);
    const promUrl = prom.url;
    const promExit = new Promise<never>((_, reject) =>
      prom!.process.once('exit', (code) => reject(new Error(`prometheus exited with ${code}`))),
    );
    promExit.catch(() => {});
    await Promise.race([
      poll('Prometheus ready', async () => ((await fetch(`${promUrl}/-/ready`)).ok ? true : undefined)),
      promExit,
    ]);
    // Every series scraped twice: the rates of each class's first query cover all its services.
    for (const cls of QUERY_CLASSES) {
      const url = `${promUrl}/api/v1/query?query=${encodeURIComponent(cls.queries[0]!.query)}`;
      await poll(`${cls.name} series scraped twice`, async () => {
        const body = (await (await fetch(url)).json()) as any;
        return cls.readyWhen(body.data?.result?.length ?? 0) ? true : undefined;
      });
    }

    const doc = parseDocument(readFileSync(ACME_CONFIG, 'utf8'));
    doc.setIn(['observability'], { prometheus: { url: promUrl } });
    const configPath = join(dirname(ACME_CONFIG), 'idp.observability-bench.config.yaml');
    writeFileSync(configPath, doc.toString());
    server = await startTestServer({ configPath });
    relay = await startRelay(promUrl);
    const { alice } = await userTokens(server, ['alice']);

    // What the gate forwards for alice: her teams and environments in every selector.
    const gate = server.services.observabilityQuery;
    const scope = await gate.scopeFor(await server.services.tokens.authenticate(alice));
    const scoped = (query: string) => {
      const result = scopeQuery(query, scope, { maxQueryBytes: 1 << 20 });
      if (!result.ok) throw result.error;
      return result.query;
    };
    const asWritten = (query: string) => query;
    const target = (name: string, base: string, prefix: string, text: Target['text'], token?: string): Target => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      agents.push(agent);
      return { name, base, prefix, token, text, agent, latencies: [], errors: 0 };
    };

    const lines: string[] = [];
    const figures: Record<string, number | string> = {};
    const ms = (v: number) => Number(v.toFixed(3));
    const verdicts: string[] = [];
    for (const cls of QUERY_CLASSES) {
      const direct = target('prometheus', promUrl, '/api/v1', asWritten);
      const directScoped = target('prometheus, scoped', promUrl, '/api/v1', scoped);
      const gated = target('gate, developer', server.url, '/api/observability', asWritten, alice);
      const admin = target('gate, admin', server.url, '/api/observability', asWritten, server.adminToken);
      const bare = target('bare relay', relay!.url, '/api/v1', asWritten);
      const targets = [direct, directScoped, gated, admin, bare];

      // The gate really scopes: alice (payments) gets what Prometheus answers for the scoped query, and only payments'.
      const [viaGate, viaPrometheus] = [
        await get(gated, queryPaths(cls, gated)[0]!),
        await get(directScoped, queryPaths(cls, directScoped)[0]!),
      ];
      const teams = new Set(((JSON.parse(viaGate.body) as any).data?.result ?? []).map((r: any) => r.metric.service));
      if (
        viaGate.status !== 200 ||
        resultCount(viaGate.body) !== resultCount(viaPrometheus.body) ||
        resultCount(viaGate.body) === 0 ||
        [...teams].some((s) => !String(s).startsWith('payments'))
      )
        throw new Error(`${cls.name}: gate answered ${viaGate.status} ${viaGate.body.slice(0, 300)}`);

      // Per group, a warm-up (JIT, keep-alive sockets, Prometheus' caches), then alternating slices,
      // each path beside its reference: the developer's small scoped answers are not timed next to
      // the all-teams ones (a megabyte per query in the 1-hour class), whose garbage collection and
      // Prometheus load would land on whichever path came next.
      const perSlice = cls.perSlice;
      const groups = [
        { paths: [directScoped, gated], rounds: cls.rounds },
        { paths: [direct, admin, bare], rounds: cls.referenceRounds ?? cls.rounds },
      ];
      for (const group of groups) {
        for (const t of group.paths) await slice(t, queryPaths(cls, t), perSlice, false);
        const rounds = Math.max(1, Math.round(group.rounds * SCALE));
        for (let round = 0; round < rounds; round++) {
          const order = round % 2 === 0 ? group.paths : [...group.paths].reverse();
          for (const t of order) await slice(t, queryPaths(cls, t), perSlice, true);
        }
      }
      const [d, ds, g, a, r] = targets.map(summarize) as [Summary, Summary, Summary, Summary, Summary];
      const row = (name: string, s: Summary) =>
        `  ${name.padEnd(20)} p50 ${s.p50.toFixed(3).padStart(7)} ms  p95 ${s.p95.toFixed(3).padStart(7)} ms  p99 ${s.p99.toFixed(3).padStart(7)} ms  (${s.n} queries${s.errors ? `, ${s.errors} errors` : ''})`;
      const against = (who: string, x: Summary, ref: Summary, refName: string, target: boolean) => {
        const ratio = x.p50 / ref.p50;
        const added = x.p99 - ref.p99;
        const okRatio = ratio <= TARGET_RATIO_P50;
        const okAdded = added <= TARGET_ADDED_P99_MS;
        const mark = (met: boolean) => (target ? (met ? ': met' : ': MISSED') : '');
        if (target) {
          verdicts.push(
            `${cls.name}: p50 ${ratio.toFixed(3)}× ${okRatio ? 'met' : 'MISSED'}, p99 ${added >= 0 ? '+' : ''}${added.toFixed(2)} ms ${okAdded ? 'met' : 'MISSED'}`,
          );
          figures[`${cls.name} p50 ratio`] = Number(ratio.toFixed(3));
          figures[`${cls.name} p50 added ms`] = ms(x.p50 - ref.p50);
          figures[`${cls.name} p99 added ms`] = ms(added);
          figures[`${cls.name} p50 target (≤1.2×)`] = okRatio ? 'met' : 'missed';
          figures[`${cls.name} p99 target (≤5 ms added)`] = okAdded ? 'met' : 'missed';
        }
        return `  ${who} vs ${refName}: p50 ${ratio.toFixed(3)}× (+${(x.p50 - ref.p50).toFixed(3)} ms${target ? `; target ≤ ${TARGET_RATIO_P50}×${mark(okRatio)}` : ''}), p99 ${added >= 0 ? '+' : ''}${added.toFixed(3)} ms${target ? ` (target ≤ ${TARGET_ADDED_P99_MS} ms${mark(okAdded)})` : ''}`;
      };
      lines.push(
        `${cls.name}: ${cls.about}, in turn; slices of ${perSlice} queries, the developer beside Prometheus with the scoped query, then the others beside Prometheus with the query as written`,
        row(direct.name, d),
        row(directScoped.name, ds),
        row(gated.name, g),
        row(admin.name, a),
        row(bare.name, r),
        against('developer', g, ds, 'Prometheus with the same scoped query', true),
        against('admin    ', a, d, 'Prometheus with the same query', false),
        against('bare relay', r, d, 'Prometheus (the floor: one more HTTP hop in Node, nothing else)', false),
        against('developer', g, d, 'Prometheus with the query as written (all teams)', false),
      );
      for (const [name, s] of [
        ['direct', d],
        ['direct scoped', ds],
        ['gate', g],
        ['admin gate', a],
        ['bare relay', r],
      ] as const) {
        figures[`${cls.name} ${name} p50 ms`] = ms(s.p50);
        figures[`${cls.name} ${name} p99 ms`] = ms(s.p99);
      }
      figures[`${cls.name} errors`] = targets.reduce((n, t) => n + t.errors, 0);
    }

    const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    console.log(
      `one query at a time over keep-alive connections; developer: alice (team payments), so the scope rewrite runs; dashboard exporter: ${DASHBOARD_SERIES} series of 8 teams, an hour of history`,
    );
    console.log(`machine: ${availableParallelism()} cores, load average ${loadavg}; control plane in-process`);
    for (const line of lines) console.log(line);
    console.log(`targets (developer against Prometheus with the same query): ${verdicts.join('; ')}`);
    return figures;
  } finally {
    for (const a of agents) a.destroy();
    await relay?.close();
    await server?.stop();
    await prom?.stop();
    // The copy of examples/acme that test/support/server.ts made on import goes when the process
    // does (the logs bench, run after this one, starts its server from it too).
    process.once('exit', () => rmSync(dirname(ACME_CONFIG), { recursive: true, force: true }));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
