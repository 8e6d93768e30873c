import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createTempDatabase, postgresAvailable } from '../support/postgres.ts';
import { ACME_CONFIG, CLI_BIN, ROOT, exited, freePort, startServerProcess } from '../support/server.ts';

// The control plane started the way a user starts it, failing to listen or told to stop: it must
// exit on its own with a clear error and leave nothing behind (before the lifecycle, a port in
// use printed the error but the edge proxy, timers and connections kept the process alive).

const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'idp-lifecycle-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A port someone else holds for the duration of the test. */
async function takenPort(): Promise<number> {
  const holder: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    holder.once('error', reject);
    holder.listen(0, '127.0.0.1', () => resolve());
  });
  cleanups.push(() => new Promise<void>((resolve) => holder.close(() => resolve())));
  return (holder.address() as { port: number }).port;
}

/** True when nothing listens on the port any more (we can take it ourselves). */
function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * Live processes left in the process group the server led (its own children included). Zombies
 * do not count: they have exited, and whether PID 1 of a container reaps them is not ours.
 */
function liveInGroup(pgid: number): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // pid (comm) state ppid pgrp ...: comm may hold spaces, so split after its closing paren.
      const close = stat.lastIndexOf(')');
      const [state, , pgrp] = stat.slice(close + 2).split(' ');
      if (Number(pgrp) === pgid && state !== 'Z') found.push(`${entry} ${stat.slice(0, close + 1)}`);
    } catch {
      // gone meanwhile
    }
  }
  return found;
}

/** Pids of processes running in, or naming, the data dir (replicas, builds, anything it spawned). */
function processesUsing(dir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replaceAll('\0', ' ');
      const cwd = readlinkSync(`/proc/${entry}/cwd`);
      if (cmdline.includes(dir) || cwd.startsWith(dir)) found.push(Number(entry));
    } catch {
      // gone meanwhile, or not ours to read
    }
  }
  return found;
}

interface Run {
  code: number | null;
  stderr: string;
  pid: number;
  /** From the error on stderr (printed after start-up stopped what it had started) to the exit. */
  lingeredMs: number | null;
}

/** `idp server` in its own process group, until it exits by itself (or the bound below). */
function runServer(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_BIN, 'server', '--config', ACME_CONFIG, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stderr = '';
    let errorAt: number | null = null;
    const collect = (d: Buffer) => {
      stderr += d.toString();
      if (errorAt === null && stderr.includes('Error [')) errorAt = performance.now();
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    // Generous for a loaded machine; a server that does not exit at all is what this catches.
    const bound = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
      reject(new Error(`idp server did not exit by itself within 90 s; output:\n${stderr}`));
    }, 90_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(bound);
      resolve({ code, stderr, pid: child.pid!, lingeredMs: errorAt === null ? null : performance.now() - errorAt });
    });
  });
}

function expectNoStackTrace(output: string): void {
  expect(output).not.toMatch(/^\s+at .+[(:]\d+/m);
  expect(output).not.toMatch(/node:internal|Unhandled|uncaught/i);
}

describe('idp server lifecycle', { timeout: 150_000 }, () => {
  it('exits with PORT_IN_USE when its port is taken, and leaves nothing listening or running', async () => {
    const port = await takenPort();
    const proxyPort = await freePort();
    const dataDir = tempDir();
    const run = await runServer(['--port', String(port), '--data-dir', dataDir], {
      IDP_PROXY_PORT: String(proxyPort),
    });

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `Error [PORT_IN_USE]: the control plane cannot listen on 127.0.0.1:${port}: the port is already in use (EADDRINUSE)`,
    );
    expect(run.stderr).toMatch(new RegExp(`Try this: .*--port ${port + 1}`));
    expectNoStackTrace(run.stderr);
    expect(run.lingeredMs).toBeLessThan(5000);
    // The edge proxy had started listening before the API failed to: it was closed again.
    expect(await portIsFree(proxyPort)).toBe(true);
    expect(liveInGroup(run.pid)).toEqual([]);
    expect(processesUsing(dataDir)).toEqual([]);
  });

  it('exits with PORT_IN_USE when the edge proxy port is taken, closing the PostgreSQL state store', async () => {
    const proxyPort = await takenPort();
    const port = await freePort();
    const dataDir = tempDir();
    const env: Record<string, string> = { IDP_PROXY_PORT: String(proxyPort) };
    // An open pg pool keeps a process alive until its idle connections time out (10 s): with the
    // PostgreSQL store, exiting promptly after the error shows the store was closed.
    if (await postgresAvailable()) {
      const db = await createTempDatabase();
      cleanups.push(() => db.drop());
      env.IDP_DATABASE_URL = db.url;
    }
    const run = await runServer(['--port', String(port), '--data-dir', dataDir], env);

    expect(run.code).toBe(1);
    expect(run.stderr).toContain(
      `Error [PORT_IN_USE]: the edge proxy cannot listen on 127.0.0.1:${proxyPort}: the port is already in use (EADDRINUSE)`,
    );
    expect(run.stderr).toContain(`IDP_PROXY_PORT=${proxyPort + 1}`);
    expectNoStackTrace(run.stderr);
    expect(run.lingeredMs).toBeLessThan(5000);
    expect(await portIsFree(port)).toBe(true);
    expect(liveInGroup(run.pid)).toEqual([]);
    expect(processesUsing(dataDir)).toEqual([]);
  });

  it('stops cleanly on SIGTERM: exit code 0, both ports free again', async () => {
    const dataDir = tempDir();
    const proxyPort = await freePort();
    const server = await startServerProcess(['--data-dir', dataDir], { IDP_PROXY_PORT: String(proxyPort) });
    const port = Number(new URL(server.url).port);
    expect(await portIsFree(port)).toBe(false);
    expect(await portIsFree(proxyPort)).toBe(false);

    server.child.kill('SIGTERM');
    const code = await exited(server.child);

    expect(code).toBe(0);
    expect(server.output()).toContain('SIGTERM: stopping the control plane');
    expect(server.output()).toMatch(/stopped\n$/);
    expect(server.output()).not.toContain('warning: stopping');
    expectNoStackTrace(server.output());
    expect(await portIsFree(port)).toBe(true);
    expect(await portIsFree(proxyPort)).toBe(true);
    expect(processesUsing(dataDir)).toEqual([]);
  });
});
