// Deployments end to end: a service's git repository, its release upload, waiting for a rollout,
// and requests (or steady traffic) through the edge proxy.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { expect } from 'vitest';
import { ROOT, api } from './server.ts';
import { waitUntil, type WaitOptions } from './wait.ts';

/** A throw-away git repository holding a service, as a developer's checkout would. */
export interface ServiceRepo {
  dir: string;
  /** Writes a file (relative to the root), making its directories. */
  write(path: string, content: string): void;
  /** A symbolic link at `path` pointing at `target`. */
  link(path: string, target: string): void;
  /** Commits everything (an empty commit when nothing changed); returns the commit id. */
  commit(message?: string): string;
  /** What `idp deploy` uploads: `git archive` of the commit. */
  archive(sha: string): Buffer;
  remove(): void;
}

export function serviceRepo(
  opts: { copyFrom?: string; files?: Record<string, string>; prefix?: string } = {},
): ServiceRepo {
  const dir = mkdtempSync(join(tmpdir(), opts.prefix ?? 'idp-service-repo-'));
  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: dir, encoding: 'utf8', maxBuffer: 1 << 30 }).trim();
  if (opts.copyFrom) cpSync(opts.copyFrom, dir, { recursive: true, filter: (s) => !s.includes('node_modules') });
  git('init', '-q');
  const repo: ServiceRepo = {
    dir,
    write(path, content) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), content);
    },
    link(path, target) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      execFileSync('ln', ['-s', target, join(dir, path)]);
    },
    commit(message = 'x') {
      git('add', '-A');
      git('-c', 'user.name=t', '-c', 'user.email=t@example.com', 'commit', '-qm', message, '--allow-empty');
      return git('rev-parse', 'HEAD');
    },
    archive(sha) {
      return execFileSync('git', ['archive', '--format=tar', sha], { cwd: dir, maxBuffer: 1 << 30 });
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
  for (const [path, content] of Object.entries(opts.files ?? {})) repo.write(path, content);
  return repo;
}

/** The demo's real payments-api (examples/acme/services, without node_modules) with this deploy.yaml. */
export function paymentsApiRepo(deployYaml: string, prefix = 'idp-deploy-repo-'): ServiceRepo {
  return serviceRepo({
    copyFrom: join(ROOT, 'examples/acme/services/payments-api'),
    files: { '.idp/deploy.yaml': deployYaml },
    prefix,
  });
}

/** POST /api/releases as `token`; the body is sent as given (a tar, or anything an attacker sends). */
export async function uploadRelease(
  server: { url: string },
  token: string,
  service: string,
  commit: string,
  body: Buffer,
  contentType = 'application/x-tar',
) {
  const res = await fetch(`${server.url}/api/releases?service=${encodeURIComponent(service)}&commit=${commit}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': contentType },
    body,
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

/** Uploads the commit of `repo` as a release of `service` (made, or already there); returns its version. */
export async function releaseCommit(
  server: { url: string },
  token: string,
  service: string,
  repo: ServiceRepo,
  sha: string,
): Promise<string> {
  const res = await uploadRelease(server, token, service, sha, repo.archive(sha));
  expect([200, 201], res.text).toContain(res.status);
  return res.json.version as string;
}

/** A deployment in one of these statuses has ended: nothing changes it any more. */
export const DEPLOYMENT_ENDED: readonly string[] = ['healthy', 'rolled_back', 'aborted', 'failed'];

export const deploymentEnded = (d: { status: string }): boolean => DEPLOYMENT_ENDED.includes(d.status);

/**
 * GET /api/deployments/:id until `until` holds (by default: until it has ended); returns the
 * deployment. `until` may throw GiveUp (test/support/wait.ts) to fail at once.
 */
export function waitForDeployment(
  server: { url: string },
  token: string,
  id: string,
  until: (d: any) => boolean = deploymentEnded,
  opts: WaitOptions = {},
): Promise<any> {
  return waitUntil(
    `deployment ${id}`,
    async () => {
      const res = await api(server, token, 'GET', `/api/deployments/${id}`);
      if (res.status === 200 && until(res.json)) return res.json;
      throw new Error(`${res.status} ${res.text}`);
    },
    opts,
  );
}

export interface ProxyAnswer {
  status: number;
  /** The x-idp-release header: `<service>@<version>` of the replica that answered. */
  release: string | undefined;
  body: string;
}

/**
 * GET through the edge proxy on `port` with Host `host`. `newConnection`: no keep-alive (the
 * proxy may have been restarted since the last request); `timeoutMs`: fail a request that hangs.
 */
export function proxyGet(
  port: number,
  host: string,
  path = '/',
  opts: { newConnection?: boolean; timeoutMs?: number } = {},
): Promise<ProxyAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, headers: { host }, ...(opts.newConnection ? { agent: false } : {}) },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, release: res.headers['x-idp-release'] as string | undefined, body }),
        );
      },
    );
    if (opts.timeoutMs) req.setTimeout(opts.timeoutMs, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

/** The version part of an answer's x-idp-release header. */
export const versionOf = (r: { release: string | undefined }): string | undefined => r.release?.split('@')[1];

export interface Traffic {
  /** Answers so far, per version that answered. */
  seen: Map<string, number>;
  /** Every request that did not answer 200: status and body, or the error. */
  failures: string[];
  /** Ends the traffic once the requests in flight are answered. */
  stop(): Promise<{ seen: Map<string, number>; failures: string[] }>;
}

/**
 * Steady traffic through the proxy while a test does something else: `clients` loops, each
 * sending a request, then pausing `pauseMs` (the load's pace, not a wait for anything).
 */
export function proxyTraffic(
  port: number,
  host: string,
  opts: { clients?: number; pauseMs?: number; newConnection?: boolean; timeoutMs?: number } = {},
): Traffic {
  const seen = new Map<string, number>();
  const failures: string[] = [];
  let done = false;
  const client = async () => {
    while (!done) {
      try {
        const r = await proxyGet(port, host, '/', opts);
        if (r.status !== 200) failures.push(`${r.status} ${r.body.slice(0, 200)}`);
        const v = versionOf(r);
        if (v) seen.set(v, (seen.get(v) ?? 0) + 1);
      } catch (err) {
        failures.push((err as Error).message);
      }
      await new Promise((r) => setTimeout(r, opts.pauseMs ?? 20));
    }
  };
  const clients = Array.from({ length: opts.clients ?? 1 }, client);
  return {
    seen,
    failures,
    async stop() {
      done = true;
      await Promise.all(clients);
      return { seen, failures };
    },
  };
}
