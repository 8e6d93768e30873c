import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

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
  constructor(message: string, readonly ref: string) {
    super(message);
  }
}

const CATALOG_FILE_NAMES = new Set(['catalog-info.yaml', 'catalog-info.yml']);
const MAX_BYTES = 10 * 1024 * 1024;

export interface ReadOptions {
  urlTimeoutMs?: number;
  gitTimeoutMs?: number;
}

/** Guesses a location's type from its target: git repositories, http(s) URLs, else a path. */
export function guessLocationType(target: string): LocationType {
  const t = target.trim();
  if (/^git\+/i.test(t) || /^git@/.test(t) || /^ssh:\/\//i.test(t) || /\.git(#.*)?\/?$/i.test(t)) return 'git';
  if (/^https?:\/\//i.test(t)) return 'url';
  return 'file';
}

/** Whether reading the location touches the server's own disk (a policy decision: admins only). */
export function readsServerFiles(type: LocationType, target: string): boolean {
  if (type === 'file') return true;
  if (type === 'git') {
    const repo = splitGitTarget(target).repo;
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

  constructor(private readonly opts: ReadOptions = {}) {}

  async cleanup(): Promise<void> {
    await Promise.all(this.cleanups.splice(0).map((d) => rm(d, { recursive: true, force: true }).catch(() => {})));
  }

  /** Reads a registered location. Throws SourceUnreachableError when it cannot be read at all. */
  async readRoot(type: LocationType, target: string): Promise<SourceFile[]> {
    if (type === 'file') return this.readPath(resolve(target), undefined);
    if (type === 'url') return [await this.fetchUrl(target)];
    return this.cloneGit(target);
  }

  /**
   * Reads the target of a Location entity found in `from`. Relative targets resolve against the
   * file that holds the Location entity; a remote catalog may not point at the server's disk.
   */
  async readNested(from: SourceBase, type: string | undefined, target: string): Promise<SourceFile[]> {
    const effective = type ?? (from.kind === 'url' ? 'url' : 'file');
    if (effective === 'url') {
      const url = from.kind === 'url' ? new URL(target, from.url).toString() : target;
      if (!/^https?:\/\//i.test(url)) throw new SourceUnreachableError(`url target ${target} is not an absolute http(s) URL`, `url:${target}`);
      return [await this.fetchUrl(url)];
    }
    if (effective === 'git') return this.cloneGit(target);
    if (effective !== 'file') throw new SourceUnreachableError(`unsupported location type "${effective}" (use file, url or git)`, `${effective}:${target}`);
    if (from.kind === 'url') {
      const url = new URL(target, from.url).toString();
      return [await this.fetchUrl(url)];
    }
    if (from.kind === 'git') {
      const abs = resolve(from.dir, target);
      if (!isInside(abs, from.cloneDir)) throw new SourceUnreachableError(`file target ${target} points outside the repository ${from.repo}`, `file:${target}`);
      return this.readGitPath(from, abs);
    }
    const abs = isAbsolute(target) ? target : resolve(from.dir, target.replace(/^file:/, ''));
    if (from.root && !isInside(abs, from.root)) throw new SourceUnreachableError(`file target ${target} points outside ${from.root}`, `file:${abs}`);
    return this.readPath(abs, from.root);
  }

  private async readPath(path: string, root: string | undefined): Promise<SourceFile[]> {
    const paths = /[*?]/.test(path) ? await expandGlob(path) : [path];
    if (paths.length === 0) throw new SourceUnreachableError(`no file matches ${path}`, `file:${path}`);
    const out: SourceFile[] = [];
    for (const p of paths) {
      let st;
      try {
        st = await stat(p);
      } catch (err) {
        throw new SourceUnreachableError(`cannot read ${p}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (err as Error).message}`, `file:${p}`);
      }
      const files = st.isDirectory() ? await findCatalogFiles(p) : [p];
      for (const f of files) {
        const text = await readFile(f, 'utf8').catch((err: Error) => {
          throw new SourceUnreachableError(`cannot read ${f}: ${err.message}`, `file:${f}`);
        });
        out.push({ ref: `file:${f}`, display: f, text, base: { kind: 'file', dir: dirname(f), root } });
      }
    }
    return out;
  }

  private async fetchUrl(url: string): Promise<SourceFile> {
    const ref = `url:${url}`;
    let res: Response;
    try {
      res = await fetch(url, { signal: AbortSignal.timeout(this.opts.urlTimeoutMs ?? 10_000), redirect: 'follow' });
    } catch (err) {
      const e = err as Error & { cause?: { code?: string; message?: string } };
      const why = e.name === 'TimeoutError' ? `no answer within ${(this.opts.urlTimeoutMs ?? 10_000) / 1000}s` : e.cause?.code ?? e.cause?.message ?? e.message;
      throw new SourceUnreachableError(`cannot reach ${url}: ${why}`, ref);
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {});
      throw new SourceUnreachableError(`GET ${url} answered HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ''}`, ref);
    }
    const length = Number(res.headers.get('content-length') ?? 0);
    if (length > MAX_BYTES) throw new SourceUnreachableError(`${url} is larger than ${MAX_BYTES} bytes`, ref);
    const text = await res.text();
    if (text.length > MAX_BYTES) throw new SourceUnreachableError(`${url} is larger than ${MAX_BYTES} bytes`, ref);
    return { ref, display: url, text, base: { kind: 'url', url: res.url || url } };
  }

  private async cloneGit(target: string): Promise<SourceFile[]> {
    const { repo, branch } = splitGitTarget(target);
    const ref = `git:${target}`;
    if (!repo || repo.startsWith('-')) throw new SourceUnreachableError(`"${target}" is not a git repository URL`, ref);
    const dir = await mkdtemp(join(tmpdir(), 'idp-git-'));
    this.cleanups.push(dir);
    const repoArg = /^file:\/\//i.test(repo) ? fileURLToPath(repo) : repo;
    const args = ['clone', '--depth', '1', '--quiet', ...(branch ? ['--branch', branch] : []), '--', repoArg, dir];
    await new Promise<void>((resolvePromise, reject) => {
      // execFile, never a shell: the target is user input.
      execFile('git', args, {
        timeout: this.opts.gitTimeoutMs ?? 60_000,
        env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_ALLOW_PROTOCOL: 'file:http:https:ssh:git' },
        maxBuffer: 1024 * 1024,
      }, (err, _stdout, stderr) => {
        if (err) {
          const reason = String(stderr || err.message).trim().split('\n').filter(Boolean).pop() ?? err.message;
          reject(new SourceUnreachableError(`git clone ${repo}${branch ? ` (branch ${branch})` : ''} failed: ${reason}`, ref));
        } else resolvePromise();
      });
    });
    const base = { kind: 'git' as const, repo: target, cloneDir: dir, dir };
    return this.readGitPath(base, dir);
  }

  private async readGitPath(from: Extract<SourceBase, { kind: 'git' }>, abs: string): Promise<SourceFile[]> {
    const files = await this.readPath(abs, from.cloneDir);
    return files.map((f) => {
      const path = relative(from.cloneDir, f.display).split(sep).join('/');
      return { ...f, ref: `git:${from.repo}?path=${path}`, display: `${from.repo} ${path}`, base: { ...from, dir: dirname(f.display) } };
    });
  }
}

function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

/** Every catalog-info.yaml below a folder, skipping hidden folders and node_modules. */
async function findCatalogFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const full = join(d, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile() && CATALOG_FILE_NAMES.has(e.name)) out.push(full);
    }
  };
  await walk(dir);
  return out;
}

/** `*` and `?` within a path segment, `**` for any number of folders (Node 20 has no fs.glob). */
async function expandGlob(pattern: string): Promise<string[]> {
  const abs = resolve(pattern);
  const segments = abs.split(sep).filter((s, i) => s !== '' || i === 0);
  const firstGlob = segments.findIndex((s) => /[*?]/.test(s));
  const start = segments.slice(0, firstGlob).join(sep) || sep;
  const rest = segments.slice(firstGlob);
  const toRegex = (seg: string) => new RegExp(`^${seg.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')}$`);
  const out = new Set<string>();
  const walk = async (dir: string, i: number): Promise<void> => {
    if (i === rest.length) {
      out.add(dir);
      return;
    }
    const seg = rest[i]!;
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    if (seg === '**') {
      await walk(dir, i + 1);
      for (const e of entries) if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules') await walk(join(dir, e.name), i);
      return;
    }
    const re = toRegex(seg);
    for (const e of entries) {
      if (!re.test(e.name)) continue;
      const full = join(dir, e.name);
      if (i === rest.length - 1 ? e.isFile() : e.isDirectory()) await walk(full, i + 1);
    }
  };
  await walk(start, 0);
  return [...out].sort();
}
