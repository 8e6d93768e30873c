// git as the actions run it: an argument list (never a shell), a clean environment (no system or
// user config, no credential helpers, no prompts, no hooks), a timeout, and the task's abort signal.
import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IdpError } from '@idp/contracts';

export interface GitOptions {
  cwd: string;
  timeoutMs: number;
  signal?: AbortSignal;
  /** Extra environment (e.g. GIT_ASKPASS); never a credential on the command line. */
  env?: Record<string, string>;
  maxBuffer?: number;
}

const SAFE_CONFIG = [
  '-c',
  'core.hooksPath=/dev/null',
  '-c',
  'core.symlinks=true',
  '-c',
  'init.defaultBranch=main',
  // An allowed http(s) remote is not followed elsewhere.
  '-c',
  'http.followRedirects=false',
];

/** A HOME for git that holds nothing: made once per process, removed at exit. */
let home: Promise<string> | undefined;
function gitHome(): Promise<string> {
  home ??= mkdtemp(join(tmpdir(), 'idp-git-home-')).then((dir) => {
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    return dir;
  });
  return home;
}

export async function git(args: string[], opts: GitOptions): Promise<Buffer> {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: await gitHome(),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '/bin/false',
    GIT_ALLOW_PROTOCOL: 'file:http:https',
    LC_ALL: 'C',
    ...opts.env,
  };
  const maxBuffer = opts.maxBuffer ?? 16 * 1024 * 1024;
  return new Promise<Buffer>((resolvePromise, reject) => {
    let stoppedBy: 'timeout' | 'abort' | 'output' | null = null;
    // Its own process group: a timeout or a cancel stops git's helpers too (git remote-http …).
    const child = spawn('git', [...SAFE_CONFIG, ...args], {
      cwd: opts.cwd,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const stop = (why: 'timeout' | 'abort' | 'output') => {
      stoppedBy ??= why;
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    };
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    const collect = (into: Buffer[]) => (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBuffer) return stop('output');
      into.push(chunk);
    };
    child.stdout.on('data', collect(out));
    child.stderr.on('data', collect(err));
    const timer = setTimeout(() => stop('timeout'), opts.timeoutMs);
    const onAbort = () => stop('abort');
    if (opts.signal?.aborted) stop('abort');
    else opts.signal?.addEventListener('abort', onAbort, { once: true });
    const finish = (code: number | null, failure?: Error) => {
      clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      if (code === 0 && stoppedBy === null && !failure) return resolvePromise(Buffer.concat(out));
      const reason =
        (Buffer.concat(err).toString('utf8') || failure?.message || `exit code ${code}`)
          .trim()
          .split('\n')
          .filter(Boolean)
          .slice(-2)
          .join(' / ') || `exit code ${code}`;
      const message =
        stoppedBy === 'timeout'
          ? `git ${args[0]} took longer than ${opts.timeoutMs / 1000}s`
          : stoppedBy === 'abort'
            ? `git ${args[0]} was stopped`
            : stoppedBy === 'output'
              ? `git ${args[0]} wrote more than ${maxBuffer} bytes`
              : `git ${args[0]}: ${reason}`;
      reject(new GitFailed(message));
    };
    child.once('error', (e) => finish(null, e));
    child.once('close', (code) => finish(code));
  });
}

export class GitFailed extends Error {}

/** git's output as trimmed text. */
export async function gitText(args: string[], opts: GitOptions): Promise<string> {
  return (await git(args, opts)).toString('utf8').trim();
}

/** A failed git command as the step's error. */
export function gitError(action: string, err: unknown): IdpError {
  if (err instanceof IdpError) return err;
  return new IdpError('TEMPLATE_ACTION_FAILED', `${action}: ${(err as Error).message}`, { action });
}
