import { execFile } from 'node:child_process';
import { mkdtemp, readFile, realpath, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FETCH_LIMITS, FetchFailed, fetchDocument, pinnedGitOptions } from './fetch.ts';
import { FetchRules } from './fetch-rules.ts';
import { isSharedGitRepo } from './shared-git.ts';
import { expandGlob, findCatalogFiles } from './source-files.ts';

export type LocationType = 'file' | 'url' | 'git';
export const LOCATION_TYPES: readonly LocationType[] = ['file', 'url', 'git'];

/** Where a read file came from, so Location entities in it resolve their relative targets. */
export type SourceBase =
  | { kind: 'file'; dir: string; root?: string }
  | { kind: 'url'; url: string }
  | { kind: 'git'; repo: string; cloneDir: string; dir: string };

export interface SourceFile {
  /** The location ref (`type:target`) written to backstage.io/managed-by-location. */
  ref: string;
  /** Shown in errors: a path, URL, or repository plus path. */
  display: string;
  text: string;
  base: SourceBase;
}

export class SourceUnreachableError extends Error {
  constructor(
    message: string,
    readonly ref: string,
  ) {
    super(message);
  }
}

export interface ReadOptions {
  urlTimeoutMs?: number;
  gitTimeoutMs?: number;
  /**
   * The location comes from the config or a platform admin registered it: it may read the
   * server's disk (file and local git targets, nested ones too) and fetch any address. Otherwise
   * every fetch obeys `fetchRules` and nothing on the server's disk is read.
   */
  trusted?: boolean;
  /** catalog.fetch.allowHosts; none: public addresses only. */
  fetchRules?: FetchRules;
  /** Where the detailed reason of a refused or failed fetch goes (the caller sees a generic one). */
  log?: (line: string) => void;
  /** Folders of shared bare repositories (publish:git's file:// remotes): git locations anyone may read. */
  sharedGitRoots?: readonly string[];
}

/** A file that was skipped (a symlink out of a clone) without failing the rest of the location. */
export interface SkippedFile {
  /** The path inside the clone. */
  file: string;
  message: string;
}

/** Guesses a location's type from its target: git repositories, http(s) URLs, else a path. */
export function guessLocationType(target: string): LocationType {
  const t = target.trim();
  if (/^git\+/i.test(t) || /^git@/.test(t) || /^ssh:\/\//i.test(t) || /\.git(#.*)?\/?$/i.test(t)) return 'git';
  if (/^https?:\/\//i.test(t)) return 'url';
  return 'file';
}

/** Whether reading the location touches the server's own disk (a policy decision: admins only). */
export function readsServerFiles(type: LocationType, target: string, sharedGitRoots: readonly string[] = []): boolean {
  if (type === 'file') return true;
  if (type === 'git') {
    const repo = splitGitTarget(target).repo;
    if (isSharedGitRepo(repo, sharedGitRoots)) return false;
    return !/^(https?|ssh|git):\/\//i.test(repo) && !/^[\w.-]+@[\w.-]+:/.test(repo);
  }
  return false;
}

export function splitGitTarget(target: string): { repo: string; branch?: string } {
  const t = target.trim().replace(/^git\+/i, '');
  const hash = t.lastIndexOf('#');
  return hash > 0 ? { repo: t.slice(0, hash), branch: t.slice(hash + 1) || undefined } : { repo: t };
}

/** One read of a location and everything it leads to; cleanup() removes git clones. */
export class ReadSession {
  private readonly cleanups: string[] = [];
  /** Files left out of the last read; read.ts turns them into catalog errors. */
  readonly skipped: SkippedFile[] = [];
  private readonly rules: FetchRules | null;

  constructor(private readonly opts: ReadOptions = {}) {
    this.rules = opts.trusted ? null : (opts.fetchRules ?? new FetchRules());
  }

  async cleanup(): Promise<void> {
    await Promise.all(this.cleanups.splice(0).map((d) => rm(d, { recursive: true, force: true }).catch(() => {})));
  }

  /** Reads a registered location. Throws SourceUnreachableError when it cannot be read at all. */
  async readRoot(type: LocationType, target: string): Promise<SourceFile[]> {
    if (type === 'file') {
      if (!this.opts.trusted) throw serverFilesRefused(type, target);
      return this.readPath(resolve(target), undefined);
    }
    if (type === 'url') return [await this.fetchUrl(target)];
    return this.cloneGit(target);
  }

  /**
   * Reads the target of a Location entity found in `from`. Relative targets resolve against the
   * file that holds the Location entity; a remote catalog may not point at the server's disk.
   */
  async readNested(from: SourceBase, type: string | undefined, target: string): Promise<SourceFile[]> {
    const effective = type ?? (from.kind === 'url' ? 'url' : 'file');
    // The same rule as catalog:register: the server's disk is for the admins' locations only.
    if (!this.opts.trusted && (effective === 'file' || effective === 'git') && from.kind === 'file')
      throw serverFilesRefused(effective, target);
    if (!this.opts.trusted && effective === 'git' && readsServerFiles('git', target, this.opts.sharedGitRoots))
      throw serverFilesRefused(effective, target);
    if (effective === 'url') {
      const url = from.kind === 'url' ? new URL(target, from.url).toString() : target;
      if (!/^https?:\/\//i.test(url))
        throw new SourceUnreachableError(`url target ${target} is not an absolute http(s) URL`, `url:${target}`);
      return [await this.fetchUrl(url)];
    }
    if (effective === 'git') return this.cloneGit(target);
    if (effective !== 'file')
      throw new SourceUnreachableError(
        `unsupported location type "${effective}" (use file, url or git)`,
        `${effective}:${target}`,
      );
    if (from.kind === 'url') {
      const url = new URL(target, from.url).toString();
      return [await this.fetchUrl(url)];
    }
    if (from.kind === 'git') {
      const abs = resolve(from.dir, target);
      if (!isInside(abs, from.cloneDir))
        throw new SourceUnreachableError(
          `file target ${target} points outside the repository ${from.repo}`,
          `file:${target}`,
        );
      return this.readGitPath(from, abs);
    }
    const abs = isAbsolute(target) ? target : resolve(from.dir, target.replace(/^file:/, ''));
    if (from.root && !isInside(abs, from.root))
      throw new SourceUnreachableError(`file target ${target} points outside ${from.root}`, `file:${abs}`);
    return this.readPath(abs, from.root);
  }

  private async readPath(path: string, root: string | undefined): Promise<SourceFile[]> {
    const paths = /[*?]/.test(path) ? await expandGlob(path) : [path];
    if (paths.length === 0) throw new SourceUnreachableError(`no file matches ${path}`, `file:${path}`);
    const out: SourceFile[] = [];
    for (const p of paths) {
      if (root && !(await this.confined(p, root))) continue;
      let st;
      try {
        st = await stat(p);
      } catch (err) {
        throw new SourceUnreachableError(
          `cannot read ${p}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`,
          `file:${p}`,
        );
      }
      const files = st.isDirectory() ? await findCatalogFiles(p, Boolean(root)) : [p];
      for (const f of files) {
        if (root && !(await this.confined(f, root))) continue;
        const text = await readFile(f, 'utf8').catch((err: Error) => {
          throw new SourceUnreachableError(`cannot read ${f}: ${err.message}`, `file:${f}`);
        });
        out.push({ ref: `file:${f}`, display: f, text, base: { kind: 'file', dir: dirname(f), root } });
      }
    }
    return out;
  }

  /** Whether this read may touch the server's disk and any address (config and admins' locations). */
  get trusted(): boolean {
    return this.rules === null;
  }

  /** GETs a URL under this read's fetch rules, at most `maxBytes` (placeholders: placeholders.ts). */
  async fetchText(url: string, maxBytes: number): Promise<string> {
    return (await this.fetchUrl(url, maxBytes)).text;
  }

  private async fetchUrl(url: string, maxBytes = FETCH_LIMITS.maxBytes): Promise<SourceFile> {
    const ref = `url:${url}`;
    try {
      const got = await fetchDocument(url, this.rules, {
        ...FETCH_LIMITS,
        maxBytes,
        timeoutMs: this.opts.urlTimeoutMs ?? FETCH_LIMITS.timeoutMs,
      });
      return { ref, display: url, text: got.text, base: { kind: 'url', url: got.url } };
    } catch (err) {
      throw this.fetchError(url, ref, err, maxBytes);
    }
  }

  /**
   * One message for every way a fetch of a non-admin location fails (refused address, closed or
   * open port, timeout, HTTP status, too large), so the catalog cannot be used to map the network
   * or read other services' answers; the reason goes to the server log. Admins' locations get it.
   */
  private fetchError(
    what: string,
    ref: string,
    err: unknown,
    maxBytes = FETCH_LIMITS.maxBytes,
  ): SourceUnreachableError {
    const reason = err instanceof FetchFailed ? err.reason : (err as Error).message;
    if (this.opts.trusted) return new SourceUnreachableError(`could not fetch ${what}: ${reason}`, ref);
    this.opts.log?.(`catalog: could not fetch ${what}: ${reason}`);
    return new SourceUnreachableError(
      `could not fetch ${what}: refused or unreachable (public http(s) addresses only unless catalog.fetch.allowHosts names them; ${FETCH_LIMITS.maxRedirects} redirects, ${maxBytes / 1024 / 1024} MiB and ${FETCH_LIMITS.timeoutMs / 1000}s at most)`,
      ref,
    );
  }

  /** Whether `file` (inside a clone) really is inside it; a symlink leading out is skipped and reported. */
  private async confined(file: string, root: string): Promise<boolean> {
    const [real, realRoot] = await Promise.all([realpath(file).catch(() => null), realpath(root)]);
    if (real && isInside(real, realRoot)) return true;
    const path = relative(root, file).split(sep).join('/');
    this.skipped.push({
      file: path,
      message: `${path} is a symbolic link that leads out of the repository (or nowhere); links are never followed outside a git clone, so it was not read`,
    });
    return false;
  }

  private async cloneGit(target: string): Promise<SourceFile[]> {
    const dir = await this.cloneRepository(target);
    const base = { kind: 'git' as const, repo: target, cloneDir: dir, dir };
    return this.readGitPath(base, dir);
  }

  /**
   * A shallow clone of a git target (`repo#branch`) under the same rules as reading it: the
   * folder is removed by cleanup(). Throws SourceUnreachableError when it cannot be cloned.
   */
  async cloneRepository(target: string): Promise<string> {
    const { repo, branch } = splitGitTarget(target);
    const ref = `git:${target}`;
    if (!repo || repo.startsWith('-')) throw new SourceUnreachableError(`"${target}" is not a git repository URL`, ref);
    let pinned: string[] = [];
    const shared = isSharedGitRepo(repo, this.opts.sharedGitRoots ?? []);
    if (this.rules && !shared) {
      if (readsServerFiles('git', repo)) throw serverFilesRefused('git', target);
      try {
        pinned = await pinnedGitOptions(repo, this.rules);
      } catch (err) {
        throw this.fetchError(repo, ref, err);
      }
    }
    const dir = await mkdtemp(join(tmpdir(), 'idp-git-'));
    this.cleanups.push(dir);
    const repoArg = /^file:\/\//i.test(repo) ? fileURLToPath(repo) : repo;
    const args = [
      ...pinned,
      'clone',
      '--depth',
      '1',
      '--quiet',
      ...(branch ? ['--branch', branch] : []),
      '--',
      repoArg,
      dir,
    ];
    await new Promise<void>((resolvePromise, reject) => {
      // execFile, never a shell: the target is user input.
      execFile(
        'git',
        args,
        {
          timeout: this.opts.gitTimeoutMs ?? 60_000,
          // Non-admin locations: http(s) only, and no system or user git config (insteadOf rewrites,
          // credential helpers) applies to a remote someone else chose.
          env: this.rules
            ? {
                ...process.env,
                GIT_TERMINAL_PROMPT: '0',
                // A shared repository on this host is read over the file transport, and nothing else.
                GIT_ALLOW_PROTOCOL: shared ? 'file' : 'http:https',
                GIT_CONFIG_NOSYSTEM: '1',
                GIT_CONFIG_GLOBAL: '/dev/null',
              }
            : { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ALLOW_PROTOCOL: 'file:http:https:ssh:git' },
          maxBuffer: 1024 * 1024,
        },
        (err, _stdout, stderr) => {
          if (err) {
            const reason =
              String(stderr || err.message)
                .trim()
                .split('\n')
                .filter(Boolean)
                .pop() ?? err.message;
            if (this.rules)
              reject(
                this.fetchError(
                  repo,
                  ref,
                  new FetchFailed(`git clone${branch ? ` (branch ${branch})` : ''}: ${reason}`),
                ),
              );
            else
              reject(
                new SourceUnreachableError(
                  `git clone ${repo}${branch ? ` (branch ${branch})` : ''} failed: ${reason}`,
                  ref,
                ),
              );
          } else resolvePromise();
        },
      );
    });
    return dir;
  }

  private async readGitPath(from: Extract<SourceBase, { kind: 'git' }>, abs: string): Promise<SourceFile[]> {
    const files = await this.readPath(abs, from.cloneDir);
    return files.map((f) => {
      const path = relative(from.cloneDir, f.display).split(sep).join('/');
      return {
        ...f,
        ref: `git:${from.repo}?path=${path}`,
        display: `${from.repo} ${path}`,
        base: { ...from, dir: dirname(f.display) },
      };
    });
  }
}

function serverFilesRefused(type: string, target: string): SourceUnreachableError {
  return new SourceUnreachableError(
    `${type} target ${target} is on the server's disk: only locations from the config or registered by a platform admin may read server files (the rule of catalog:register applies to nested Location entities too)`,
    `${type}:${target}`,
  );
}

export function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}
