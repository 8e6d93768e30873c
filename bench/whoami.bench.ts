// whoami round trips per second through the real HTTP server: the control plane runs in its own
// process (as `idp server` does), and this process drives it with keep-alive HTTP from several
// concurrent clients, so the figure includes auth (token hash lookup) and JSON serialisation.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Agent, request } from 'node:http';

const ROOT = resolve(import.meta.dirname, '..');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function waitForHealth(url: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server at ${url} did not become healthy`);
}

export async function run(): Promise<Record<string, number | string>> {
  const dataDir = mkdtempSync(join(tmpdir(), 'idp-bench-'));
  const port = 17000 + Math.floor(Math.random() * 1000);
  const adminToken = 'bench-admin-token';
  const child = spawn(
    process.execPath,
    [join(ROOT, 'packages/cli/bin/idp.js'), 'server', '--port', String(port), '--data-dir', dataDir],
    {
      env: { ...process.env, IDP_ADMIN_TOKEN: adminToken, IDP_LOG_LEVEL: 'warn', IDP_PROXY_PORT: '0' },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForHealth(url, 30_000);
    // A real user token, so the bench exercises the token table lookup, not the bootstrap path.
    const created = await fetch(`${url}/api/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'alice@company.com' }),
    });
    const { token } = (await created.json()) as { token: string };
    const agent = new Agent({ keepAlive: true, maxSockets: 16 });
    const once = () =>
      new Promise<number>((res, rej) => {
        const start = process.hrtime.bigint();
        const req = request(`${url}/api/whoami`, { agent, headers: { authorization: `Bearer ${token}` } }, (r) => {
          r.resume();
          r.on('end', () =>
            r.statusCode === 200
              ? res(Number(process.hrtime.bigint() - start) / 1e6)
              : rej(new Error(`status ${r.statusCode}`)),
          );
        });
        req.on('error', rej);
        req.end();
      });
    for (let i = 0; i < 500; i++) await once(); // warm-up
    const concurrency = 16;
    const durationMs = 5000;
    const latencies: number[] = [];
    const started = Date.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (Date.now() - started < durationMs) latencies.push(await once());
      }),
    );
    const elapsed = (Date.now() - started) / 1000;
    agent.destroy();
    latencies.sort((a, b) => a - b);
    const figures = {
      'requests/s': Math.round(latencies.length / elapsed),
      'latency p50 ms': Number(percentile(latencies, 50).toFixed(2)),
      'latency p99 ms': Number(percentile(latencies, 99).toFixed(2)),
      concurrency,
    };
    console.log(
      `whoami through the real HTTP server (${concurrency} keep-alive clients, ${elapsed.toFixed(1)} s):`,
      figures,
    );
    return figures;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    rmSync(dataDir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
