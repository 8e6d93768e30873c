// A pull request's head commit fetched into a scratch bare repository (refs/pull/<n>/head of the
// configured repository, else the commit itself), with the same clean git as the golden paths'
// actions (argument lists, no config, hooks, prompts or credential helpers); then its service
// folders found and each one packed with `git archive`, as `idp deploy` does.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IdpError } from '@idp/contracts';
import { git, gitText } from '../templates/actions/git.ts';

export interface FetchOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** Largest archive of one service (bytes). */
  maxArchiveBytes: number;
}

export interface FetchedHead {
  dir: string;
  sha: string;
  /** Service folders: those holding .idp/deploy.yaml at the commit ('.' for the root). */
  services(): Promise<string[]>;
  /** A tar of the folder at the commit, stamped with the commit's date so one commit gives the same bytes. */
  archive(folder: string): Promise<Buffer>;
  /** A file's text at the commit (at most 64 KiB), or null when it is not there. */
  readFile(path: string): Promise<string | null>;
  dispose(): Promise<void>;
}

const SHA = /^[0-9a-f]{40}$/;
const DEPLOY_FILE = /^(?:(.+)\/)?\.idp\/deploy\.ya?ml$/;

function unavailable(message: string, details: Record<string, unknown>): IdpError {
  return new IdpError('PREVIEW_SOURCE_UNAVAILABLE', message, details);
}

export async function fetchHead(
  cloneUrl: string,
  number: number,
  sha: string,
  opts: FetchOptions,
): Promise<FetchedHead> {
  if (!SHA.test(sha)) throw unavailable(`${sha.slice(0, 80)} is not a commit id`, { sha: sha.slice(0, 80) });
  if (!Number.isSafeInteger(number) || number < 1) throw unavailable('not a pull request number', { number });
  const dir = await mkdtemp(join(tmpdir(), 'idp-preview-'));
  const run = (args: string[], env?: Record<string, string>, maxBuffer?: number) =>
    git(args, { cwd: dir, timeoutMs: opts.timeoutMs, signal: opts.signal, env, maxBuffer });
  const has = async () =>
    run(['--git-dir', dir, 'cat-file', '-e', `${sha}^{commit}`]).then(
      () => true,
      () => false,
    );
  try {
    await run(['init', '-q', '--bare', dir]);
    let reachError = '';
    try {
      await run([
        '--git-dir',
        dir,
        'fetch',
        '-q',
        '--no-tags',
        '--',
        cloneUrl,
        `+refs/pull/${number}/head:refs/idp/head`,
      ]);
    } catch (err) {
      reachError = (err as Error).message;
    }
    // A newer push moves the ref: the commit itself is asked for (servers allow a reachable one).
    if (!(await has()))
      await run(['--git-dir', dir, 'fetch', '-q', '--no-tags', '--', cloneUrl, sha]).catch((err: Error) => {
        reachError ||= err.message;
      });
    if (!(await has()))
      throw unavailable(
        `the commit ${sha.slice(0, 12)} of pull request #${number} could not be fetched${reachError ? `: ${reachError.slice(0, 300)}` : ''}`,
        { sha, number },
      );
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const text = (args: string[]) => gitText(['--git-dir', dir, ...args], { cwd: dir, timeoutMs: opts.timeoutMs });
  return {
    dir,
    sha,
    async services() {
      const files = (await text(['ls-tree', '-r', '--name-only', '-z', sha])).split('\0');
      const found = new Set<string>();
      for (const f of files) {
        const m = DEPLOY_FILE.exec(f);
        if (m) found.add(m[1] ?? '.');
      }
      return [...found].sort();
    },
    async archive(folder: string) {
      const clean = folder.replace(/^\.?\/+|\/+$/g, '');
      if (clean.split('/').some((s) => s === '..'))
        throw unavailable(`${folder} is not a folder inside the repository`, { folder });
      const tree = clean && clean !== '.' ? `${sha}:${clean}` : `${sha}^{tree}`;
      const date = await text(['show', '-s', '--format=%cI', sha]);
      const who = {
        GIT_AUTHOR_NAME: 'idp',
        GIT_AUTHOR_EMAIL: 'idp@localhost',
        GIT_AUTHOR_DATE: date,
        GIT_COMMITTER_NAME: 'idp',
        GIT_COMMITTER_EMAIL: 'idp@localhost',
        GIT_COMMITTER_DATE: date,
      };
      const stamped = (await run(['--git-dir', dir, 'commit-tree', tree, '-m', `idp preview ${sha}`], who))
        .toString('utf8')
        .trim();
      return run(['--git-dir', dir, 'archive', '--format=tar', stamped], undefined, opts.maxArchiveBytes);
    },
    async readFile(path: string) {
      if (path.split('/').some((s) => s === '..' || s === '')) return null;
      return run(['--git-dir', dir, 'show', `${sha}:${path}`], undefined, 64 * 1024).then(
        (b) => b.toString('utf8'),
        () => null,
      );
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
