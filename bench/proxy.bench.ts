// Edge proxy side by side with nginx: latency added over a direct connection (p50/p99), CPU per
// request and errors, at 2,000 and 6,000 req/s, in the same run. Targets: the idp proxy's added
// p99 ≤ 1.5× nginx's at both rates, its CPU per request ≤ 2× nginx's, no errors.
//
// Processes as in production: the backend (a tiny node HTTP server), the idp proxy (this file
// re-run as a child, so the proxy has its own event loop like the control plane's), nginx (the
// Debian package, in front of the same backend with keep-alive upstream connections; see
// proxy-peers.ts) and this process as the load generator. A raw TCP relay (two sockets piped, no
// HTTP) shows the floor any extra user-space hop in node costs on this machine, and the idp proxy
// with its fast path off ('idp-node': node's HTTP server and client per request) what it replaced.
//
// The load is open-loop: request i is due at t0 + i/rate and its latency counts from that due
// time, so a stall shows up in the figures instead of quietly lowering the rate (no coordinated
// omission). The paths take turns in short slices so that load from elsewhere on the machine hits
// all of them alike.
import { Agent, request } from 'node:http';
import { availableParallelism } from 'node:os';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  BACKEND_SOURCE,
  cpuSeconds,
  nginxVersion,
  NGINX_WORKERS,
  RELAY_SOURCE,
  startNginx,
  startNodeChild,
  stopPeer,
  type Peer,
} from './proxy-peers.ts';
import { addRow } from './table.ts';

const RATES = (process.env.BENCH_PROXY_RATES ?? '2000,6000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_PROXY_SECONDS ?? 10);
const SLICE_SECONDS = 0.5;
const TARGET_P99_RATIO = 1.5;
const TARGET_CPU_RATIO = 2;
const HOST = 'bench-api.bench.localhost';
const RELEASE = 'bench-api@v1';

/** Child mode: run the edge proxy in front of the backend and print its port. */
async function serveProxy(): Promise<void> {
  const { EdgeProxy } = await import('../providers/runtime-local/src/index.ts');
  const proxy = new EdgeProxy({ port: 0, fastPath: process.env.IDP_BENCH_PROXY_FAST !== '0' });
  const port = await proxy.listen();
  proxy.setRoute('bench-api', 'bench', {
    stable: { release: RELEASE, targets: [{ host: '127.0.0.1', port: Number(process.env.IDP_BENCH_BACKEND_PORT) }] },
  });
  process.on('SIGTERM', () => void proxy.close().then(() => process.exit(0)));
  console.log(`PORT ${port}`);
}

interface Path {
  name: string;
  port: number;
  agent: Agent;
  /** Process whose CPU time (with its children's) is charged to this path. */
  pid: number | undefined;
  latencies: number[];
  errors: Map<string, number>;
  seconds: number;
  cpuSeconds: number;
}

/** Open-loop load on one path: `rate` requests per second for `seconds`. */
function slice(path: Path, rate: number, seconds: number): Promise<void> {
  const total = Math.round(rate * seconds);
  const intervalMs = 1000 / rate;
  const started = performance.now();
  const cpuBefore = cpuSeconds(path.pid);
  let sent = 0;
  let completed = 0;
  return new Promise((done) => {
    const finishOne = () => {
      if (++completed < total) return;
      path.seconds += (performance.now() - started) / 1000;
      path.cpuSeconds += cpuSeconds(path.pid) - cpuBefore;
      done();
    };
    const fail = (kind: string) => path.errors.set(kind, (path.errors.get(kind) ?? 0) + 1);
    const fire = (due: number) => {
      const req = request(
        { host: '127.0.0.1', port: path.port, path: '/', agent: path.agent, headers: { host: HOST } },
        (res) => {
          res.resume();
          res.once('end', () => {
            if (res.statusCode === 200) path.latencies.push(performance.now() - due);
            else fail(`status ${res.statusCode}`);
            finishOne();
          });
        },
      );
      req.once('error', (err: NodeJS.ErrnoException) => {
        fail(err.code ?? err.message);
        finishOne();
      });
      req.end();
    };
    const tick = () => {
      const now = performance.now();
      while (sent < total && started + sent * intervalMs <= now) fire(started + sent++ * intervalMs);
      if (sent < total) setTimeout(tick, 0);
    };
    tick();
  });
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

interface Summary {
  p50: number;
  p99: number;
  max: number;
  rps: number;
  errors: number;
  errorKinds: string;
  cpuUsPerRequest: number;
}

function summarize(path: Path): Summary {
  const sorted = [...path.latencies].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    max: sorted.at(-1) ?? NaN,
    rps: sorted.length / path.seconds,
    errors: [...path.errors.values()].reduce((a, b) => a + b, 0),
    errorKinds: [...path.errors.keys()].join(', '),
    cpuUsPerRequest: (path.cpuSeconds / (sorted.length || 1)) * 1e6,
  };
}

/** All paths at one rate: a warm-up slice each, then alternating slices; the figures per path. */
async function measure(peers: Record<string, Peer>, rate: number): Promise<Record<string, Summary>> {
  const paths: Path[] = Object.entries(peers).map(([name, peer]) => ({
    name,
    port: peer.port,
    agent: new Agent({ keepAlive: true, maxSockets: 256 }),
    pid: peer.child.pid,
    latencies: [],
    errors: new Map(),
    seconds: 0,
    cpuSeconds: 0,
  }));
  // Warm-up (JIT, keep-alive pools), then forget what it measured.
  for (const p of paths) await slice(p, rate, 1);
  for (const p of paths) Object.assign(p, { latencies: [], errors: new Map(), seconds: 0, cpuSeconds: 0 });
  const slices = Math.max(1, Math.round(SECONDS / SLICE_SECONDS));
  for (let i = 0; i < slices; i++) for (const p of paths) await slice(p, rate, SECONDS / slices);
  for (const p of paths) p.agent.destroy();
  return Object.fromEntries(paths.map((p) => [p.name, summarize(p)]));
}

const fixed = (v: number, digits = 3) => Number(v.toFixed(digits));

function report(rate: number, s: Record<string, Summary>): Record<string, number | string> {
  const d = s.direct!;
  const added = (x: Summary) => ({ p50: x.p50 - d.p50, p99: x.p99 - d.p99 });
  console.log(`\n${rate} req/s per path (${s.direct!.rps.toFixed(0)} achieved direct):`);
  for (const [name, x] of Object.entries(s)) {
    const a = added(x);
    console.log(
      `  ${name.padEnd(10)} p50 ${x.p50.toFixed(3)} ms  p99 ${x.p99.toFixed(3)} ms  max ${x.max.toFixed(1)} ms  ` +
        `${x.rps.toFixed(0)} req/s  CPU ${x.cpuUsPerRequest.toFixed(0)} µs/req` +
        (name === 'direct' ? ' (backend)' : `  added p50 ${a.p50.toFixed(3)} ms  p99 ${a.p99.toFixed(3)} ms`) +
        `  errors ${x.errors}${x.errors ? ` (${x.errorKinds})` : ''}`,
    );
  }
  const idp = added(s.idp!);
  const nginx = added(s.nginx!);
  const relay = added(s.relay!);
  // The target is idp ≤ 1.5 × nginx; with nginx's added p99 at or below zero (noise) the ratio means nothing.
  const p99Ratio = nginx.p99 > 0 ? idp.p99 / nginx.p99 : NaN;
  const p99Met = idp.p99 <= TARGET_P99_RATIO * nginx.p99;
  const cpuRatio = s.idp!.cpuUsPerRequest / s.nginx!.cpuUsPerRequest;
  const errors = Object.values(s).reduce((sum, x) => sum + x.errors, 0);
  const verdict = (ok: boolean) => (ok ? 'pass' : 'FAIL');
  console.log(
    `  idp vs nginx: added p99 ${idp.p99.toFixed(3)} vs ${nginx.p99.toFixed(3)} ms = ${p99Ratio.toFixed(2)}× ` +
      `(target ≤ ${TARGET_P99_RATIO}×: ${verdict(p99Met)}); CPU ${s.idp!.cpuUsPerRequest.toFixed(0)} vs ` +
      `${s.nginx!.cpuUsPerRequest.toFixed(0)} µs/req = ${cpuRatio.toFixed(2)}× (target ≤ ${TARGET_CPU_RATIO}×: ` +
      `${verdict(cpuRatio <= TARGET_CPU_RATIO)}); errors ${errors} (target 0: ${verdict(errors === 0)})`,
  );
  const r = `${rate / 1000}k`;
  const nginxName = `nginx ${nginxVersion()}`;
  const row = (figure: string, ours: string, theirs: string, ratio: string, target: string, ok: boolean | null) =>
    addRow({
      bench: 'proxy',
      figure: `${rate.toLocaleString('en')}/s: ${figure}`,
      idp: ours,
      peer: nginxName,
      peerValue: theirs,
      ratio,
      target,
      result: ok === null ? '-' : ok ? 'met' : 'MISSED',
    });
  row('added p50', `${fixed(idp.p50)} ms`, `${fixed(nginx.p50)} ms`, `${(idp.p50 / nginx.p50).toFixed(2)}×`, '-', null);
  row(
    'added p99',
    `${fixed(idp.p99)} ms`,
    `${fixed(nginx.p99)} ms`,
    nginx.p99 > 0
      ? `${p99Ratio.toFixed(2)}× (relay, node's floor: ${(relay.p99 / nginx.p99).toFixed(2)}×)`
      : "not measurable: nginx's added p99 ≤ 0 (noise)",
    `≤ ${TARGET_P99_RATIO}×`,
    p99Met,
  );
  row(
    'CPU per request',
    `${Math.round(s.idp!.cpuUsPerRequest)} µs`,
    `${Math.round(s.nginx!.cpuUsPerRequest)} µs`,
    `${cpuRatio.toFixed(2)}×`,
    `≤ ${TARGET_CPU_RATIO}×`,
    cpuRatio <= TARGET_CPU_RATIO,
  );
  row('errors', String(s.idp!.errors), String(s.nginx!.errors), '-', '0', s.idp!.errors === 0);
  return {
    [`${r} idp added p50 ms`]: fixed(idp.p50),
    [`${r} nginx added p50 ms`]: fixed(nginx.p50),
    [`${r} relay added p50 ms`]: fixed(relay.p50),
    [`${r} idp added p99 ms`]: fixed(idp.p99),
    [`${r} nginx added p99 ms`]: fixed(nginx.p99),
    [`${r} relay added p99 ms`]: fixed(relay.p99),
    [`${r} p99 idp/nginx (≤${TARGET_P99_RATIO}×)`]: `${p99Ratio.toFixed(2)}× ${verdict(p99Met)}`,
    [`${r} idp CPU µs/req`]: Math.round(s.idp!.cpuUsPerRequest),
    [`${r} nginx CPU µs/req`]: Math.round(s.nginx!.cpuUsPerRequest),
    [`${r} relay CPU µs/req`]: Math.round(s.relay!.cpuUsPerRequest),
    [`${r} idp-node added p99 ms`]: fixed(added(s['idp-node']!).p99),
    [`${r} idp-node CPU µs/req`]: Math.round(s['idp-node']!.cpuUsPerRequest),
    [`${r} CPU idp/nginx (≤${TARGET_CPU_RATIO}×)`]: `${cpuRatio.toFixed(2)}× ${verdict(cpuRatio <= TARGET_CPU_RATIO)}`,
    [`${r} errors (0)`]: `${errors} ${verdict(errors === 0)}`,
  };
}

export async function run(): Promise<Record<string, number | string>> {
  const peers: Peer[] = [];
  try {
    const backend = await startNodeChild(['-e', BACKEND_SOURCE]);
    peers.push(backend);
    const backendEnv = { IDP_BENCH_BACKEND_PORT: String(backend.port) };
    const relay = await startNodeChild(['-e', RELAY_SOURCE], backendEnv);
    peers.push(relay);
    const idp = await startNodeChild(['--import', 'tsx', resolve(import.meta.dirname, 'proxy.bench.ts')], {
      ...backendEnv,
      IDP_BENCH_PROXY_CHILD: '1',
    });
    peers.push(idp);
    // The same proxy with its fast path off (node's HTTP server and client for every request), for comparison.
    const idpNode = await startNodeChild(['--import', 'tsx', resolve(import.meta.dirname, 'proxy.bench.ts')], {
      ...backendEnv,
      IDP_BENCH_PROXY_CHILD: '1',
      IDP_BENCH_PROXY_FAST: '0',
    });
    peers.push(idpNode);
    const nginx = await startNginx(backend.port, HOST, RELEASE);
    peers.push(nginx);

    const loadavg = () => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    console.log(
      `open-loop, ${SECONDS} s per path and rate in alternating ${SLICE_SECONDS} s slices, keep-alive, each hop its own ` +
        `process; nginx ${nginxVersion()} with ${NGINX_WORKERS} worker (the idp proxy is one event loop); ` +
        `${availableParallelism()} cores, load average before ${loadavg()}`,
    );
    const figures: Record<string, number | string> = {};
    for (const rate of RATES) {
      const summaries = await measure({ direct: backend, relay, idp, 'idp-node': idpNode, nginx }, rate);
      Object.assign(figures, report(rate, summaries));
    }
    console.log(`load average after ${loadavg()} (other work on the machine inflates every path's p99)`);
    figures['load average after'] = loadavg();
    return figures;
  } finally {
    for (const peer of peers.reverse()) await stopPeer(peer);
  }
}

if (process.env.IDP_BENCH_PROXY_CHILD === '1') await serveProxy();
else if (import.meta.url === `file://${process.argv[1]}`) await run();
