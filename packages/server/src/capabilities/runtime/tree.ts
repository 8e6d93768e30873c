import { chmod, lchown, lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Walks a release in-process (no chown/chmod processes to spawn for each build). Symbolic links
 * are changed themselves (lchown) and never followed, so a link planted by a build cannot turn
 * a walk by root onto files outside the release.
 */
async function walk(
  dir: string,
  visit: (path: string, isDir: boolean, isLink: boolean, mode: number) => Promise<void>,
): Promise<void> {
  const st = await lstat(dir);
  await visit(dir, st.isDirectory(), st.isSymbolicLink(), st.mode);
  if (!st.isDirectory()) return;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await walk(path, visit);
    else {
      const info = await lstat(path);
      await visit(path, false, info.isSymbolicLink(), info.mode);
    }
  }
}

/** Everything under dir (dir included) owned by uid:gid, like `chown -R -P`. */
export function chownTree(dir: string, uid: number, gid: number): Promise<void> {
  return walk(dir, (path) => lchown(path, uid, gid));
}

/**
 * The release sealed for its replicas: owned by root, readable by all (directories and
 * executables searchable), writable by nobody else, no set-uid or set-gid bits. Like
 * `chown -R 0:0 && chmod -R a+rX,go-w,ug-s`.
 */
export function sealTree(dir: string): Promise<void> {
  return walk(dir, async (path, isDir, isLink, mode) => {
    await lchown(path, 0, 0);
    if (isLink) return;
    const exec = isDir || (mode & 0o111) !== 0;
    // 0o755 keeps the owner's bits and drops write for group and others, set-uid, set-gid and sticky.
    const sealed = (mode & 0o755) | 0o444 | (exec ? 0o111 : 0);
    if ((mode & 0o7777) !== sealed) await chmod(path, sealed);
  });
}
