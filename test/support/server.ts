import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createNetServer } from 'node:net';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { parseDocument } from 'yaml';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { startServer, type RunningServer, type StartOptions } from '@idp/server';
import { GiveUp, waitUntil } from './wait.ts';

export const ROOT = resolve(import.meta.dirname, '../..');
export const CLI_BIN = join(ROOT, 'packages/cli/bin/idp.js');
/** The demo organisation's real config (with its base environments and their seed data). */
export const ACME_REAL_CONFIG = join(ROOT, 'examples/acme/idp.config.yaml');

/**
 * What most tests run against: a copy of examples/acme whose config has no `environments`
 * section, so a test server neither seeds the shared PostgreSQL and Redis nor finds demo
 * secrets in staging, and whose metrics storage is off (observability.prometheus.enabled: false). Environment tests build their own config (test/support/environments.ts).
 */
export const ACME_CONFIG = acmeWithoutEnvironments();

function acmeWithoutEnvironments(): string {
  const dir = mkdtempSync(join(tmpdir(), 'idp-acme-test-'));
  cpSync(join(ROOT, 'examples/acme'), dir, { recursive: true, filter: (src) => !src.includes('node_modules') });
  const doc = parseDocument(readFileSync(ACME_REAL_CONFIG, 'utf8'));
  doc.delete('environments');
  // No managed Prometheus per test server: the observability tests start their own.
  doc.setIn(['observability', 'prometheus', 'enabled'], false);
  const path = join(dir, 'idp.config.yaml');
  writeFileSync(path, doc.toString());
  return path;
}

export interface TestServer extends RunningServer {
  adminToken: string;
  stop(): Promise<void>;
}

/** A real control plane on a free port with a throw-away data dir. */
export async function startTestServer(opts: StartOptions = {}): Promise<TestServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'idp-e2e-'));
  const server = await startServer({
    port: 0,
    proxyPort: 0,
    configPath: ACME_CONFIG,
    logLevel: 'warn',
    log: () => {},
    ...opts,
    dataDir,
  });
  const adminToken = opts.adminToken ?? readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  return Object.assign(server, {
    adminToken,
    async stop() {
      await server.close();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real `idp` bin as a user would, with no terminal on stdin. */
export function runCli(
  args: string[],
  env: Record<string, string | undefined> = {},
  stdin?: string,
): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, ...args], {
      cwd: ROOT,
      env: {
        ...process.env,
        IDP_PROXY_PORT: '0',
        IDP_CONFIG_DIR: env.IDP_CONFIG_DIR ?? join(tmpdir(), 'idp-cli-none'),
        ...env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

/** fetch against the server with a bearer token. */
export async function api(server: { url: string }, token: string | null, method: string, path: string, body?: unknown) {
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
    },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, json, text };
}

export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createNetServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolvePort(port));
    });
    srv.on('error', reject);
  });
}

/** `idp server` as a real child process, the way a user starts it; resolves once /healthz answers. */
export async function startServerProcess(args: string[], env: Record<string, string> = {}) {
  const port = await freePort();
  const config = args.includes('--config') ? [] : ['--config', ACME_CONFIG];
  const child = spawn(process.execPath, [CLI_BIN, 'server', '--port', String(port), ...config, ...args], {
    cwd: ROOT,
    // The edge proxy on a free port: tests run side by side.
    env: { ...process.env, IDP_PROXY_PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = `http://localhost:${port}`;
  // Generous: on a loaded 2-core machine a start takes 30 s and more.
  await answering(child, `${url}/healthz`, () => output, { name: 'server', ok: true, timeout: 90_000 });
  return { child, url, output: () => output };
}

export function exited(child: ChildProcess): Promise<number | null> {
  // A child killed by a signal has exitCode null and signalCode set; either means it is gone.
  return new Promise((resolveExit) =>
    child.exitCode !== null || child.signalCode !== null
      ? resolveExit(child.exitCode)
      : child.once('exit', (code) => resolveExit(code)),
  );
}

/**
 * Resolves once `url` answers (with any status, or with `ok` only a 2xx), failing at once when
 * `child` exits first; `output` is what it printed, for the error.
 */
export async function answering(
  child: ChildProcess,
  url: string,
  output: () => string,
  opts: { name: string; ok?: boolean; timeout?: number; interval?: number },
): Promise<void> {
  await waitUntil(
    `${opts.name} to answer ${url}`,
    async () => {
      if (child.exitCode !== null || child.signalCode !== null)
        throw new GiveUp(`${opts.name} exited ${child.exitCode ?? child.signalCode}: ${output()}`);
      const res = await fetch(url).catch(() => undefined);
      if (res && (!opts.ok || res.ok)) return true;
      throw new Error(`not answering yet: ${output()}`);
    },
    { timeout: opts.timeout ?? 60_000, interval: opts.interval ?? 100 },
  );
}

/** SIGTERM, then SIGKILL when it is still there after `graceMs`; resolves once it is gone. */
export async function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  child.kill('SIGTERM');
  const killer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  try {
    return await exited(child);
  } finally {
    clearTimeout(killer);
  }
}
