import { type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serviceRepo } from './deploy.ts';
import { startServerProcess, stopProcess } from './server.ts';
import { tokenFor } from './tokens.ts';

export { uploadRelease } from './deploy.ts';

/**
 * The attacker's view for test/security/: a real `idp server` child process (the way an admin
 * runs it) with its own data dir, the admin token, and ordinary users' tokens.
 * Demo teams: payments (alice, bob, carol), identity (dave, erin), platform admins (frank).
 */
export interface HostileServer {
  url: string;
  dataDir: string;
  adminToken: string;
  child: ChildProcess;
  /** Everything the server printed so far (stdout + stderr). */
  output(): string;
  /** A fresh API token for `<name>@company.com`, made by the admin. */
  tokenFor(name: string): Promise<string>;
  /** true while the process runs and /healthz answers. */
  alive(): Promise<boolean>;
  stop(): Promise<void>;
}

export async function startHostileServer(
  opts: { args?: string[]; env?: Record<string, string>; dataDir?: string } = {},
): Promise<HostileServer> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'idp-sec-'));
  const { child, url, output } = await startServerProcess(
    ['--data-dir', dataDir, ...(opts.args ?? [])],
    opts.env ?? {},
  );
  const adminToken = readFileSync(join(dataDir, 'admin-token'), 'utf8').trim();
  return {
    url,
    dataDir,
    adminToken,
    child,
    output,
    tokenFor: (name) => tokenFor({ url }, adminToken, name),
    async alive() {
      if (child.exitCode !== null || child.signalCode !== null) return false;
      try {
        return (await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(5000) })).ok;
      } catch {
        return false;
      }
    },
    async stop() {
      await stopProcess(child, 10_000);
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * A throw-away git repository holding one service directory (files relative to its root; a
 * value of `{ symlink: target }` makes a symbolic link), committed; returns the tar that
 * `git archive` makes of it and the commit id — what `idp deploy` uploads.
 */
export function serviceArchive(files: Record<string, string | { symlink: string }>): {
  repo: string;
  commit: string;
  tar: Buffer;
} {
  const repo = serviceRepo({ prefix: 'idp-sec-repo-' });
  for (const [path, content] of Object.entries(files))
    if (typeof content === 'string') repo.write(path, content);
    else repo.link(path, content.symlink);
  const commit = repo.commit();
  return { repo: repo.dir, commit, tar: repo.archive(commit) };
}

/** A tiny real service: answers every request with its release version. */
export const TINY_SERVER_JS =
  "require('http').createServer((q, s) => s.end(JSON.stringify({ version: process.env.IDP_RELEASE_VERSION }))).listen(process.env.PORT);\n";

/** A one-step canary deploy.yaml (what production accepts: rollback.auto), with an optional build command. */
export function deployYaml(service = 'payments-api', team = 'payments', build?: string): string {
  return `service: {name: ${service}, team: ${team}}
${build ? `build: {command: ${JSON.stringify(build)}}\n` : ''}run: {command: node server.js, replicas: 1}
deploy:
  strategy: canary
  canary: [{weight: 100}]
  healthcheck: {path: /health, interval: 1s, threshold: 3}
  rollback: {auto: true, on_error_rate: ">1%"}
`;
}
