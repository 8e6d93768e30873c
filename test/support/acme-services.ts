// The Acme sample services (examples/acme/services) as the e2e tests run them outside the
// platform: each folder copied out of the repo and installed with its deploy.yaml build command,
// then `node server.js` started with PORT and the environment's variables.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { cpSync } from 'node:fs';
import { basename, join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT, answering, exited, freePort } from './server.ts';

const execFileAsync = promisify(execFile);

export const ACME_SERVICES_DIR = join(ROOT, 'examples/acme/services');
export const ACME_SERVICES = ['payments-api', 'users-api', 'notifications-service'] as const;
export type AcmeService = (typeof ACME_SERVICES)[number];
/** The build command of every service's .idp/deploy.yaml. */
export const ACME_BUILD_COMMAND = 'npm ci --omit=dev --prefer-offline --no-audit --no-fund';

/** The parent's env without anything that would configure a service or steer npm elsewhere. */
export function serviceEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v === undefined) continue;
    if (/^(PORT|HOST|DATABASE_URL|REDIS_URL|REDIS_KEY_PREFIX|IDP_RELEASE_VERSION|FAULT_\w+|INIT_CWD)$/.test(k))
      continue;
    if (/^npm_(package_|lifecycle_|command$|config_(local_prefix|prefix|workspaces?|include_workspace_root)$)/i.test(k))
      continue;
    env[k] = v;
  }
  return env;
}

/** Copies the service's folder (without node_modules) into `workDir` and runs its build command there. */
export async function installAcmeService(workDir: string, name: AcmeService): Promise<{ dir: string; ms: number }> {
  const dir = join(workDir, name);
  cpSync(join(ACME_SERVICES_DIR, name), dir, { recursive: true, filter: (src) => basename(src) !== 'node_modules' });
  const started = performance.now();
  const [cmd, ...args] = ACME_BUILD_COMMAND.split(' ');
  await execFileAsync(cmd!, args, { cwd: dir, env: serviceEnv() });
  return { dir, ms: Math.round(performance.now() - started) };
}

export interface RunningService {
  child: ChildProcess;
  url: string;
  output(): string;
  /** SIGTERM (unless it is gone already); resolves to its exit code once it has exited. */
  stop(): Promise<number | null>;
}

const running = new Set<RunningService>();

/**
 * `node server.js` in `dir` on a free PORT with `env`; resolves once /health answers (any status,
 * so a service whose health fails can be tested; with `ok`, a 2xx only), failing at once if it
 * exits. stopAcmeServices() stops whatever is still running.
 */
export async function startAcmeService(
  dir: string,
  env: Record<string, string> = {},
  opts: { ok?: boolean; timeout?: number } = {},
): Promise<RunningService> {
  const port = await freePort();
  const child = spawn(process.execPath, ['server.js'], {
    cwd: dir,
    env: { ...serviceEnv(), PORT: String(port), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = `http://127.0.0.1:${port}`;
  const proc: RunningService = {
    child,
    url,
    output: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await exited(child);
      running.delete(proc);
      return code;
    },
  };
  running.add(proc);
  await answering(child, `${url}/health`, () => output, {
    name: basename(dir),
    ok: opts.ok,
    timeout: opts.timeout ?? 30_000,
    interval: 50,
  });
  return proc;
}

/** Stops every service startAcmeService started that is still running (for afterAll). */
export async function stopAcmeServices(): Promise<void> {
  await Promise.all([...running].map((p) => p.stop()));
}

/** One JSON request to a running service; `json` is the parsed body (undefined when empty). */
export async function callService(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, json: text ? JSON.parse(text) : undefined, text };
}
