// Reading a placeholder's target under the rules of the location that holds it: a developer's
// location fetches under catalog.fetch rules and never reads the server's disk; inside a git clone a
// path must stay in the clone, and a symbolic link leading out of it is not followed.
import { open, realpath } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { isInside, SourceUnreachableError, type ReadSession, type SourceBase } from './sources.ts';

/** A placeholder that cannot be resolved; `field` is where it is in the entity (spec.definition). */
export class PlaceholderError extends Error {
  constructor(
    message: string,
    readonly field?: string,
  ) {
    super(field ? `${field}: ${message}` : message);
  }
}

const URL_SCHEME = /^[a-z][a-z0-9+.-]*:/i;

/**
 * The text `target` names, relative to the file whose base is `from`. Absolute http(s) URLs are
 * fetched; a relative target resolves against the file's URL, its folder in a git clone, or its
 * folder on disk (config and admins' locations only: no other location has a file on disk).
 */
export async function readPlaceholderTarget(
  session: ReadSession,
  from: SourceBase,
  target: string,
  maxBytes: number,
): Promise<string> {
  const value = target.trim();
  if (!value) throw new PlaceholderError('the target is empty');
  const scheme = URL_SCHEME.exec(value)?.[0].toLowerCase();
  if (scheme === 'http:' || scheme === 'https:' || from.kind === 'url') {
    const url = from.kind === 'url' ? new URL(value, from.url) : new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new PlaceholderError(`${url.protocol} targets are not read from a location fetched over http(s)`);
    return fetchText(session, url.toString(), maxBytes);
  }
  if (scheme && scheme !== 'file:')
    throw new PlaceholderError(`${scheme} targets are not supported (use a relative path or an http(s) URL)`);
  const path = value.replace(/^file:(\/\/)?/i, '');
  if (from.kind === 'git') {
    const abs = resolve(from.dir, path);
    if (!isInside(abs, from.cloneDir) || !(await insideReally(abs, from.cloneDir)))
      throw new PlaceholderError(`${target} is outside the repository ${from.repo} (or a link leading out of it)`);
    return readBounded(abs, maxBytes, target);
  }
  // A file location is the server's disk: only config and admins' locations have one.
  if (!session.trusted) throw new PlaceholderError(`${target} is on the server's disk`);
  const abs = isAbsolute(path) ? path : resolve(from.dir, path);
  if (from.root && (!isInside(abs, from.root) || !(await insideReally(abs, from.root))))
    throw new PlaceholderError(`${target} is outside ${from.root}`);
  return readBounded(abs, maxBytes, target);
}

async function fetchText(session: ReadSession, url: string, maxBytes: number): Promise<string> {
  try {
    return await session.fetchText(url, maxBytes);
  } catch (err) {
    if (err instanceof SourceUnreachableError) throw new PlaceholderError(err.message);
    throw err;
  }
}

async function insideReally(path: string, root: string): Promise<boolean> {
  const [real, realRoot] = await Promise.all([realpath(path).catch(() => null), realpath(root)]);
  return real === null ? true : isInside(real, realRoot);
}

/** A regular file, at most maxBytes (read that far and no further: /dev/zero is not a file). */
async function readBounded(path: string, maxBytes: number, target: string): Promise<string> {
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new PlaceholderError(
      code === 'ENOENT' ? `${target}: no such file` : `${target} cannot be read (${code ?? 'error'})`,
    );
  }
  try {
    const st = await handle.stat();
    if (!st.isFile()) throw new PlaceholderError(`${target} is not a regular file`);
    if (st.size > maxBytes) throw new PlaceholderError(`${target} is larger than ${maxBytes / 1024 / 1024} MiB`);
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got > maxBytes) throw new PlaceholderError(`${target} is larger than ${maxBytes / 1024 / 1024} MiB`);
      if (got === buf.length) break;
    }
    return buf.subarray(0, got).toString('utf8');
  } finally {
    await handle.close();
  }
}
