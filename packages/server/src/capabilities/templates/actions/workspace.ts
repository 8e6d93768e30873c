// Path containment for actions: every path an action reads or writes is resolved inside a root
// (the task's workspace, or the template's own folder), never through a symbolic link, and the
// files an action writes are counted against the limits.
import { lstat, mkdir, readdir } from 'node:fs/promises';
import { isAbsolute, join, normalize, relative, resolve, sep } from 'node:path';
import { IdpError } from '@idp/contracts';

export interface FileLimits {
  /** Files one action may write (or copy) at most. */
  maxFiles: number;
  /** Bytes one action may write (or copy) at most. */
  maxBytes: number;
}

export const DEFAULT_FILE_LIMITS: FileLimits = { maxFiles: 2000, maxBytes: 50 * 1024 * 1024 };

export function unsafePath(message: string, details: Record<string, unknown> = {}): IdpError {
  return new IdpError('TEMPLATE_PATH_UNSAFE', message, details);
}

/**
 * A relative path (targetPath, a file name, a rendered name) resolved inside `root`: absolute
 * paths, `..` leading out, NUL bytes and backslashes are refused, whatever they would normalise to.
 */
export function insideRoot(root: string, path: string, what: string): string {
  if (typeof path !== 'string') throw unsafePath(`${what} must be a string`, { field: what });
  if (path.includes('\0')) throw unsafePath(`${what} "${printable(path)}" holds a NUL byte`, { field: what });
  if (path.includes('\\'))
    throw unsafePath(`${what} "${printable(path)}" holds a backslash; use / between folders`, { field: what });
  if (isAbsolute(path) || /^[a-z]+:/i.test(path))
    throw unsafePath(`${what} "${printable(path)}" is absolute; give a path relative to the workspace`, {
      field: what,
    });
  if (path.split('/').includes('..'))
    throw unsafePath(`${what} "${printable(path)}" goes up with ..; stay inside the workspace`, { field: what });
  // `./a`, `.` and `a/./b` are fine; `..` never is (checked above, before normalising).
  const abs = resolve(root, normalize(path === '' ? '.' : path));
  if (!isInside(abs, root))
    throw unsafePath(`${what} "${printable(path)}" leads out of the workspace`, { field: what });
  return abs;
}

export function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/**
 * Refuses when any component of `abs` below `root` (that exists) is a symbolic link: nothing is
 * ever read or written through a link, so a link planted in the workspace cannot lead out of it.
 */
export async function assertNoLinks(root: string, abs: string, what: string): Promise<void> {
  const rel = relative(root, abs);
  if (rel === '') return;
  let cur = root;
  for (const part of rel.split(sep)) {
    cur = join(cur, part);
    const st = await lstat(cur).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ENOTDIR') return null;
      throw err;
    });
    if (!st) return;
    if (st.isSymbolicLink())
      throw unsafePath(`${what}: ${relative(root, cur) || '.'} is a symbolic link; links are never followed`, {
        field: what,
      });
  }
}

/** `insideRoot` + `assertNoLinks` + the parent folders made (each checked again after). */
export async function writablePath(root: string, path: string, what: string): Promise<string> {
  const abs = insideRoot(root, path, what);
  await assertNoLinks(root, abs, what);
  return abs;
}

export async function mkdirInside(root: string, abs: string, what: string): Promise<void> {
  await assertNoLinks(root, abs, what);
  await mkdir(abs, { recursive: true });
  await assertNoLinks(root, abs, what);
}

/** Counts what an action writes; throws TEMPLATE_ACTION_FAILED naming the limit when one is passed. */
export class FileBudget {
  private files = 0;
  private bytes = 0;

  constructor(
    private readonly limits: FileLimits,
    private readonly what: string,
  ) {}

  add(bytes: number): void {
    this.files += 1;
    this.bytes += bytes;
    if (this.files > this.limits.maxFiles)
      throw new IdpError(
        'TEMPLATE_ACTION_FAILED',
        `${this.what}: more than ${this.limits.maxFiles} files (templates.limits.maxFiles)`,
        { limit: 'maxFiles', max: this.limits.maxFiles },
      );
    if (this.bytes > this.limits.maxBytes)
      throw new IdpError(
        'TEMPLATE_ACTION_FAILED',
        `${this.what}: more than ${this.limits.maxBytes} bytes (templates.limits.maxBytes)`,
        { limit: 'maxBytes', max: this.limits.maxBytes },
      );
  }

  /** Counts what is there already (the workspace's files), so the limit holds for the whole workspace. */
  seed(files: number, bytes: number): void {
    this.files += files;
    this.bytes += bytes;
  }

  get counts(): { files: number; bytes: number } {
    return { files: this.files, bytes: this.bytes };
  }
}

/** A path as shown in messages: control characters escaped, cut at 200 characters. */
export function printable(s: string): string {
  const t = JSON.stringify(s).slice(1, -1);
  return t.length > 200 ? `${t.slice(0, 200)}…` : t;
}

/** The files (links not followed, `.git` skipped) and bytes below `root`, counting stops past `maxFiles`. */
export async function usageOf(root: string, maxFiles: number): Promise<{ files: number; bytes: number }> {
  let files = 0;
  let bytes = 0;
  const walk = async (dir: string): Promise<void> => {
    for (const name of await readdir(dir)) {
      if (files > maxFiles) return;
      const st = await lstat(join(dir, name));
      if (st.isDirectory()) {
        if (name !== '.git') await walk(join(dir, name));
      } else {
        files += 1;
        bytes += st.isFile() ? st.size : 0;
      }
    }
  };
  await walk(root);
  return { files, bytes };
}
