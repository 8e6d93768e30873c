// git as the actions run it: an argument list (never a shell), a clean environment (no system or
// user config, no credential helpers, no prompts, no hooks), a timeout, and the task's abort signal.
import { execFile } from 'node:child_process';
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
  return new Promise<Buffer>((resolvePromise, reject) => {
    execFile(
      'git',
      [...SAFE_CONFIG, ...args],
      {
        cwd: opts.cwd,
        env,
        timeout: opts.timeoutMs,
        signal: opts.signal,
        encoding: 'buffer',
        maxBuffer: opts.maxBuffer ?? 16 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (!err) return resolvePromise(stdout);
        const reason =
          String(stderr.toString('utf8') || err.message)
            .trim()
            .split('\n')
            .filter(Boolean)
            .slice(-2)
            .join(' / ') || err.message;
        const timedOut = (err as { killed?: boolean }).killed && !opts.signal?.aborted;
        reject(
          new GitFailed(
            timedOut ? `git ${args[0]} took longer than ${opts.timeoutMs / 1000}s` : `git ${args[0]}: ${reason}`,
          ),
        );
      },
    );
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
