// Which git remotes publish:git may push to: those under a prefix of
// templates.publish.git.allowedRemotes. file:// remotes are checked on disk (real paths, no link
// between the prefix and the repository); http(s) remotes by their normalised URL.
import { lstat, mkdir, realpath } from 'node:fs/promises';
import { join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { IdpError } from '@idp/contracts';
import { isInside, printable } from './workspace.ts';

export type Remote = { kind: 'file'; url: string; path: string; prefixPath: string } | { kind: 'http'; url: string };

function refused(url: string, why: string, allowed: readonly string[]): IdpError {
  return new IdpError(
    'TEMPLATE_ACTION_NOT_CONFIGURED',
    `publish:git: the remote "${printable(url)}" ${why}; allowed: ${allowed.length ? allowed.join(', ') : 'none (templates.publish.git.allowedRemotes is empty)'}`,
    { field: 'remoteUrl', needs: 'templates.publish.git.allowedRemotes', allowed },
  );
}

/** The remote `raw` names, when it is under one of `allowed`; anything else is refused before git runs. */
export async function allowedRemote(raw: string, allowed: readonly string[]): Promise<Remote> {
  if (!allowed.length) throw refused(raw, 'cannot be used', allowed);
  if ([...raw].some((c) => c.charCodeAt(0) < 0x20 || c === '\\') || /(^|\/)\.\.?(\/|$)|%2e|%2f|%5c/i.test(raw))
    throw refused(raw, 'holds `.`/`..` segments, encoded separators or control characters', allowed);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refused(raw, 'is not a URL (file:///… or https://…)', allowed);
  }
  if (url.username || url.password)
    throw refused(raw, 'holds credentials; they never go into a URL or a command line', allowed);
  if (url.search || url.hash) throw refused(raw, 'has a query or a fragment', allowed);
  if (url.protocol === 'file:') {
    if (url.host && url.host !== 'localhost') throw refused(raw, 'names a host in a file URL', allowed);
    const path = resolve(fileURLToPath(url));
    for (const prefix of allowed) {
      if (!/^file:/i.test(prefix)) continue;
      const prefixPath = resolve(fileURLToPath(prefix));
      if (path === prefixPath || !isInside(path, prefixPath)) continue;
      return { kind: 'file', url: `file://${path}`, path, prefixPath };
    }
    throw refused(raw, 'is not under an allowed file:// prefix', allowed);
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    const href = url.href;
    for (const prefix of allowed) {
      if (!/^https?:/i.test(prefix)) continue;
      const p = new URL(prefix).href;
      const boundary = p.endsWith('/') ? p : `${p}/`;
      if (href.startsWith(boundary) && href.length > boundary.length) return { kind: 'http', url: href };
    }
    throw refused(raw, 'is not under an allowed http(s) prefix', allowed);
  }
  throw refused(raw, `uses ${url.protocol}; file:// and http(s) remotes only`, allowed);
}

/**
 * A file:// remote's folder, checked on disk: the prefix exists (its real path is where it
 * points), no component between it and the repository is a link, and the repository's real path
 * stays under the prefix's. `create`: the missing folders are made (for a new bare repository).
 * Returns the repository's real path.
 */
export async function fileRemotePath(
  remote: Extract<Remote, { kind: 'file' }>,
  create: boolean,
): Promise<{ path: string; exists: boolean }> {
  // The prefix is the platform's own setting: its folder is made on first use.
  if (create) await mkdir(remote.prefixPath, { recursive: true, mode: 0o755 });
  const realPrefix = await realpath(remote.prefixPath).catch(() => {
    throw new IdpError(
      'TEMPLATE_ACTION_NOT_CONFIGURED',
      `publish:git: the folder of the allowed remote prefix ${remote.prefixPath} does not exist`,
      { needs: `the folder ${remote.prefixPath} on the control plane's host` },
    );
  });
  const rel = relative(remote.prefixPath, remote.path);
  let cur = realPrefix;
  let exists = true;
  for (const part of rel.split(sep)) {
    cur = join(cur, part);
    const st = await lstat(cur).catch(() => null);
    if (!st) {
      exists = false;
      if (!create) break;
      await mkdir(cur, { mode: 0o755 });
      continue;
    }
    if (st.isSymbolicLink())
      throw new IdpError(
        'TEMPLATE_PATH_UNSAFE',
        `publish:git: ${printable(remote.url)} goes through a symbolic link (${cur}); links are never followed`,
        { field: 'remoteUrl' },
      );
    if (!st.isDirectory())
      throw new IdpError('TEMPLATE_ACTION_FAILED', `publish:git: ${cur} is not a folder`, { field: 'remoteUrl' });
  }
  const real = exists || create ? await realpath(cur) : cur;
  if (!isInside(real, realPrefix))
    throw new IdpError(
      'TEMPLATE_PATH_UNSAFE',
      `publish:git: ${printable(remote.url)} leads out of ${remote.prefixPath}`,
      {
        field: 'remoteUrl',
      },
    );
  return { path: real, exists };
}
