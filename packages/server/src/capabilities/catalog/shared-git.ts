// Git repositories on the control plane's disk that are shared, not private server files: the
// bare repositories golden paths publish to (templates.publish.git.allowedRemotes, file:// ones).
// Anyone may register such a repository as a git location, as they may a repository on a git
// server; every other path on the server's disk stays with the platform admins.
import { lstatSync, realpathSync } from 'node:fs';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folders of the file:// prefixes among `remotes` (absolute paths; http(s) prefixes left out). */
export function sharedGitRootsOf(remotes: readonly string[]): string[] {
  return remotes.filter((r) => /^file:\/\//i.test(r)).map((r) => resolve(fileURLToPath(r)));
}

/**
 * Whether `repo` (a git location's repository, without `#branch`) is a file:// URL strictly under
 * one of `roots`, spelled plainly (no `.`/`..` segments, encoded separators or host), with no
 * symbolic link between the root and it and its real path still under the root's.
 */
export function isSharedGitRepo(repo: string, roots: readonly string[]): boolean {
  if (!roots.length || !/^file:\/\/\//i.test(repo)) return false;
  if (/(^|\/)\.\.?(\/|$)|%2e|%2f|%5c|\\|[?#]/i.test(repo.slice('file://'.length))) return false;
  let path: string;
  try {
    path = resolve(fileURLToPath(repo));
  } catch {
    return false;
  }
  for (const root of roots) {
    const rel = relative(root, path);
    if (rel === '' || rel.startsWith('..') || isAbsolute(rel)) continue;
    try {
      let cur = root;
      for (const part of rel.split(sep)) {
        cur = join(cur, part);
        if (lstatSync(cur).isSymbolicLink()) return false;
      }
      const realRel = relative(realpathSync(root), realpathSync(path));
      return realRel !== '' && !realRel.startsWith('..') && !isAbsolute(realRel);
    } catch {
      return false;
    }
  }
  return false;
}
