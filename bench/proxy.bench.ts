// Edge proxy overhead: p50/p99 latency and achieved requests per second directly to a backend and
// through the idp edge proxy, in the same run (issue 6 target: p99 overhead ≤ 1 ms at 2k req/s).
//
// Processes as in production: the backend (a tiny node HTTP server), the proxy (this file re-run
// as a child, so the proxy has its own event loop like the control plane's) and this process as
// the load generator. A third path, a raw TCP relay (two sockets piped, no HTTP), shows the floor
// any extra user-space hop costs on this machine, so the figures separate the proxy's own cost
// from the machine's.
//
// The load is open-loop: request i is due at t0 + i/rate and its latency counts from that due
// time, so a stall shows up in the figures instead of quietly lowering the rate (no coordinated
// omission). The paths take turns in short slices so that load from elsewhere on the machine hits
// all of them alike.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';

const ROOT = resolve(import.meta.dirname, '..');
const RATE = Number(process.env.BENCH_PROXY_RATE ?? 2000);
const SECONDS = Number(process.env.BENCH_PROXY_SECONDS ?? 10);
const SLICE_SECONDS = 0.5;
const TARGET_OVERHEAD_MS = 1;
const HOST = 'bench-api.bench.localhost';

const BACKEND_SOURCE = `
const http = require('node:http');
const body = Buffer.from(JSON.stringify({ ok: true, service: 'bench-api' }));
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 65000;
server.listen(0, '127.0.0.1', () => console.log('PORT ' + server.address().port));
`;

const RELAY_SOURCE = `
const net = require('node:net');
const server = net.createServer((client) => {
  const upstream = net.connect(Number(process.env.IDP_BENCH_BACKEND_PORT), '127.0.0.1');
  client.setNoDelay(true);
  upstream.setNoDelay(true);
  client.pipe(upstream).pipe(client);
  client.on('error', () => upstream.destroy());
  upstream.on('error', () => client.destroy());
});
server.listen(0, '127.0.0.1', () => console.log('PORT ' + server.address().port));
`;

/** Child mode: run the edge proxy in front of the backend and print its port. */
async function serveProxy(): Promise<void> {
  const { EdgeProxy } = await import('../providers/runtime-local/src/index.ts');
  const proxy = new EdgeProxy({ port: 0 });
  const port = await proxy.listen();
  proxy.setRoute('bench-api', 'bench', {
    stable: {
      release: 'bench-api@v1',
      targets: [{ host: '127.0.0.1', port: Number(process.env.IDP_BENCH_BACKEND_PORT) }],
    },
  });
  process.on('SIGTERM', () => void proxy.close().then(() => process.exit(0)));
  console.log(`PORT ${port}`);
}

interface Child {
  child: ChildProcess;
  port: number;
}

function startChild(args: string[], env: Record<string, string> = {}): Promise<Child> {
  const child = spawn(process.execPath, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolvePort, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^PORT (\d+)$/.exec(line);
      if (match) resolvePort({ child, port: Number(match[1]) });
    });
    child.once('exit', (code) => reject(new Error(`child ${args[0]} exited with ${code}`)));
  });
}

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** CPU seconds a process has used so far, user + system (Linux /proc; NaN elsewhere). */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, ticks of 1/100 s
  } catch {
    return NaN;
  }
}

interface Path {
  name: string;
  port: number;
  agent: Agent;
  /** Process whose CPU time is charged to this path (the hop in front of the backend). */
  pid?: number;
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

function summarize(path: Path) {
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

export async function run(): Promise<Record<string, number | string>> {
  const children: Child[] = [];
  try {
    const backend = await startChild(['-e', BACKEND_SOURCE]);
    children.push(backend);
    const backendEnv = { IDP_BENCH_BACKEND_PORT: String(backend.port) };
    const relay = await startChild(['-e', RELAY_SOURCE], backendEnv);
    children.push(relay);
    const proxy = await startChild(['--import', 'tsx', resolve(import.meta.dirname, 'proxy.bench.ts')], {
      ...backendEnv,
      IDP_BENCH_PROXY_CHILD: '1',
    });
    children.push(proxy);

    const path = (name: string, target: Child, pid: number | undefined): Path => ({
      name,
      port: target.port,
      agent: new Agent({ keepAlive: true, maxSockets: 256 }),
      pid,
      latencies: [],
      errors: new Map(),
      seconds: 0,
      cpuSeconds: 0,
    });
    const direct = path('direct', backend, backend.child.pid);
    const raw = path('raw TCP relay', relay, relay.child.pid);
    const viaProxy = path('idp proxy', proxy, proxy.child.pid);
    const paths = [direct, raw, viaProxy];

    // Warm-up (JIT, keep-alive pools), then forget what it measured.
    for (const p of paths) await slice(p, RATE, 1);
    for (const p of paths) Object.assign(p, { latencies: [], errors: new Map(), seconds: 0, cpuSeconds: 0 });
    const slices = Math.max(1, Math.round(SECONDS / SLICE_SECONDS));
    for (let i = 0; i < slices; i++) for (const p of paths) await slice(p, RATE, SECONDS / slices);
    for (const p of paths) p.agent.destroy();

    const [d, r, x] = paths.map(summarize) as [
      ReturnType<typeof summarize>,
      ReturnType<typeof summarize>,
      ReturnType<typeof summarize>,
    ];
    const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    const line = (name: string, s: typeof d, cpuNote: string) =>
      `  ${name.padEnd(14)} p50 ${s.p50.toFixed(3)} ms  p99 ${s.p99.toFixed(3)} ms  max ${s.max.toFixed(2)} ms  ${s.rps.toFixed(0)} req/s  ${cpuNote}${s.errors ? `  errors ${s.errors} (${s.errorKinds})` : ''}`;
    console.log(
      `open-loop ${RATE} req/s per path, ${SECONDS} s each in alternating ${SLICE_SECONDS} s slices, keep-alive; each hop its own process`,
    );
    console.log(
      `machine: ${availableParallelism()} cores, load average ${loadavg} (other work on the machine inflates every path's p99)`,
    );
    console.log(line('direct', d, `backend CPU ${d.cpuUsPerRequest.toFixed(0)} µs/req`));
    console.log(line('raw TCP relay', r, `relay CPU ${r.cpuUsPerRequest.toFixed(0)} µs/req`));
    console.log(line('idp proxy', x, `proxy CPU ${x.cpuUsPerRequest.toFixed(0)} µs/req`));
    const overheadP50 = x.p50 - d.p50;
    const overheadP99 = x.p99 - d.p99;
    console.log(
      `  overhead of the idp proxy: p50 ${overheadP50.toFixed(3)} ms, p99 ${overheadP99.toFixed(3)} ms (target p99 ≤ ${TARGET_OVERHEAD_MS} ms: ${overheadP99 <= TARGET_OVERHEAD_MS ? 'met' : 'MISSED'})`,
    );
    console.log(
      `  of which any extra hop costs here (raw relay): p50 ${(r.p50 - d.p50).toFixed(3)} ms, p99 ${(r.p99 - d.p99).toFixed(3)} ms`,
    );
    const ms = (v: number) => Number(v.toFixed(3));
    return {
      'rate req/s': RATE,
      'direct p50 ms': ms(d.p50),
      'direct p99 ms': ms(d.p99),
      'direct req/s': Math.round(d.rps),
      'proxy p50 ms': ms(x.p50),
      'proxy p99 ms': ms(x.p99),
      'proxy req/s': Math.round(x.rps),
      'overhead p50 ms': ms(overheadP50),
      'overhead p99 ms': ms(overheadP99),
      'raw relay overhead p99 ms': ms(r.p99 - d.p99),
      'proxy CPU µs/request': Math.round(x.cpuUsPerRequest),
      'p99 target (≤1 ms)': overheadP99 <= TARGET_OVERHEAD_MS ? 'met' : 'missed',
      errors: d.errors + r.errors + x.errors,
    };
  } finally {
    for (const c of children.reverse()) await stopChild(c.child);
  }
}

if (process.env.IDP_BENCH_PROXY_CHILD === '1') await serveProxy();
else if (import.meta.url === `file://${process.argv[1]}`) await run();
