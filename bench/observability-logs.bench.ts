// Log follow delay: the time from a replica writing a line to a follower of
// GET /api/observability/logs?follow=true (what `idp logs --follow` reads) receiving it.
// Target: p95 ≤ 1 s.
//
// A real control plane (in this process) with a live environment of alice's; a replica process
// writes into its log file the way the runtime runs one: its stdout and stderr go through the
// runtime's timestamping filter (log-stamp.ts, perl) into <namespace>/logs/<service>/<release>/
// replica-1.log opened for appending. The replica prints each line with the wall-clock time it
// wrote it; the follower, alice over HTTP with server-sent events, notes when each arrives.
// Lines come at uneven intervals (2–40 ms) with a burst of 25 every 100 lines.
import { spawn } from 'node:child_process';
import { appendFileSync, closeSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { request, type ClientRequest } from 'node:http';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { findPerl, stampOf, stamped } from '../providers/runtime-local/src/log-stamp.ts';
import { insertEnv, provisioningEnv } from '../test/support/env-rows.ts';
import { ACME_CONFIG, startTestServer, type TestServer } from '../test/support/server.ts';
import { userTokens } from '../test/support/tokens.ts';

const LINES = Number(process.env.BENCH_LOGS_LINES ?? 400);
const TARGET_P95_MS = 1000;
const ENV = 'bench-logs';

/** The replica: LINES lines `bench <i> <ms since the epoch, fractional>` at uneven intervals, then exits. */
const REPLICA_JS = `
const total = Number(process.argv[1]);
let i = 0;
const now = () => performance.timeOrigin + performance.now();
function next() {
  if (i >= total) return;
  const burst = i % 100 === 50 ? 25 : 1;
  for (let b = 0; b < burst && i < total; b++, i++) process.stdout.write('bench ' + i + ' ' + now().toFixed(3) + '\\n');
  setTimeout(next, 2 + ((i * 7919) % 39));
}
setTimeout(next, 50);
`;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

interface Follower {
  /** Arrival time (ms since the epoch) of each line by its text. */
  arrived: Map<string, number>;
  req: ClientRequest;
}

/** Follows over HTTP, noting when each `data:` event's line arrives. */
function follow(url: string, token: string): Promise<Follower> {
  return new Promise((resolve, reject) => {
    const arrived = new Map<string, number>();
    const req = request(url, { headers: { authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`follow answered ${res.statusCode}`));
      res.setEncoding('utf8');
      let pending = '';
      res.on('data', (chunk: string) => {
        const at = performance.timeOrigin + performance.now();
        pending += chunk;
        let end: number;
        while ((end = pending.indexOf('\n\n')) >= 0) {
          const block = pending.slice(0, end);
          pending = pending.slice(end + 2);
          if (!block.startsWith('data: ')) continue;
          for (const stream of JSON.parse(block.slice(6)).streams) {
            for (const [, line] of stream.values as Array<[string, string]>) arrived.set(line, at);
          }
        }
      });
      res.on('error', () => {});
      resolve({ arrived, req });
    });
    req.once('error', reject);
    req.end();
  });
}

async function until(what: string, check: () => boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export async function run(): Promise<Record<string, number | string>> {
  let server: TestServer | undefined;
  let follower: Follower | undefined;
  try {
    server = await startTestServer();
    const { alice } = await userTokens(server, ['alice']);
    const now = new Date();
    const env = await insertEnv(
      server.services.store.db,
      provisioningEnv(ENV, now, { status: 'ready', ready_at: now.toISOString() }),
    );
    const releaseDir = join(server.services.environments.namespaceDir(env.namespace), 'logs', 'payments-api', 'v1');
    mkdirSync(releaseDir, { recursive: true });
    const file = join(releaseDir, 'replica-1.log');
    closeSync(openSync(file, 'a'));

    follower = await follow(`${server.url}/api/observability/logs?service=payments-api&env=${ENV}&follow=true`, alice!);
    // Following for sure (a line before it started would come as history, one after as new).
    appendFileSync(file, `${stampOf(Date.now())}warm-up\n`);
    await until('the follower', () => follower!.arrived.has('warm-up'));

    const perl = findPerl();
    const fd = openSync(file, 'a');
    const run = stamped({ file: process.execPath, args: ['-e', REPLICA_JS, String(LINES)] }, perl);
    const replica = spawn(run.file, run.args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const exited = new Promise<number | null>((resolve) => replica.once('exit', resolve));
    const code = await exited;
    if (code !== 0) throw new Error(`the replica exited with ${code}`);
    const received = () => [...follower!.arrived.keys()].filter((line) => line.startsWith('bench ')).length;
    await until(`all ${LINES} lines at the follower (${received()} so far)`, () => received() === LINES);

    const delays: number[] = [];
    for (const [line, at] of follower.arrived) {
      const m = /^bench \d+ ([0-9.]+)$/.exec(line);
      if (m) delays.push(at - Number(m[1]));
    }
    delays.sort((a, b) => a - b);
    const [p50, p95, p99] = [50, 95, 99].map((p) => percentile(delays, p)) as [number, number, number];
    const max = delays.at(-1)!;
    const met = p95 <= TARGET_P95_MS;
    const loadavg = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
    console.log(
      `${delays.length} lines from a replica process through the runtime's ${perl ? 'timestamping filter' : 'plain output (no perl)'} into its log file, to an SSE follower (alice) of the control plane; machine: ${availableParallelism()} cores, load average ${loadavg}`,
    );
    console.log(
      `  delay p50 ${p50.toFixed(1)} ms  p95 ${p95.toFixed(1)} ms  p99 ${p99.toFixed(1)} ms  max ${max.toFixed(1)} ms (target p95 ≤ ${TARGET_P95_MS} ms: ${met ? 'met' : 'MISSED'})`,
    );
    const ms = (v: number) => Number(v.toFixed(1));
    return {
      lines: delays.length,
      'follow delay p50 ms': ms(p50),
      'follow delay p95 ms': ms(p95),
      'follow delay p99 ms': ms(p99),
      'follow delay max ms': ms(max),
      'p95 target (≤1 s)': met ? 'met' : 'missed',
    };
  } finally {
    follower?.req.destroy();
    await server?.stop();
    process.once('exit', () => rmSync(dirname(ACME_CONFIG), { recursive: true, force: true }));
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
