import { createHash } from 'node:crypto';
import { constants, createReadStream, createWriteStream } from 'node:fs';
import { lstat, mkdir, open, rm } from 'node:fs/promises';
import { dirname, join, posix } from 'node:path';
import { finished, Transform, type Readable, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { extract as tarExtract, type Header } from 'tar-stream';
import { IdpError } from '@idp/contracts';

/**
 * Release archives are untrusted input: a developer's `git archive`, or whatever an attacker
 * sends instead. They are streamed to disk (never held in memory) under a size limit, and
 * unpacked by idp itself (tar-stream, not the tar binary) so that every entry is checked before
 * a byte of it is written: only regular files and directories, only paths inside the release,
 * and the unpacked size and entry count are limited as the entries arrive, so a gzip or tar
 * bomb is refused at its first oversized header, not after filling the disk.
 */
export interface ReleaseLimits {
  /** The archive as uploaded (gzip'd or not). */
  maxUploadBytes: number;
  /** The sum of the sizes of the files it unpacks to. */
  maxUnpackedBytes: number;
  /** Files and directories in it. */
  maxFiles: number;
}

export const MIB = 1024 * 1024;
export const DEFAULT_RELEASE_LIMITS: ReleaseLimits = {
  maxUploadBytes: 100 * MIB,
  maxUnpackedBytes: 256 * MIB,
  maxFiles: 20_000,
};
/** .idp/deploy.yaml is a page of YAML; anything bigger is not one. */
export const MAX_SPEC_BYTES = 64 * 1024;
const MAX_PATH_LENGTH = 1024;
const MAX_DEPTH = 64;

const LIMIT_HINT =
  "Release archives hold the service's source: keep dependencies and build output out of the repository (the build runs on the platform), or ask the platform team to raise deployments.releases in the config.";
const UNSAFE_HINT =
  'A release holds regular files and directories only, all inside the service directory: replace links by the files they point to and remove devices, fifos and absolute or `..` paths, then run `git archive` again.';

export function tooLarge(
  what: string,
  limit: number,
  unit: 'bytes' | 'entries',
  extra: Record<string, unknown> = {},
): IdpError {
  const shown = unit === 'bytes' ? `${formatSize(limit)}` : `${limit} entries`;
  return new IdpError('RELEASE_TOO_LARGE', `the release ${what} is over the limit of ${shown}`, {
    field: 'body',
    limit,
    unit,
    ...extra,
    hint: LIMIT_HINT,
  });
}

function unsafe(entry: string, why: string): IdpError {
  return new IdpError(
    'RELEASE_ARCHIVE_UNSAFE',
    `the release archive's entry "${printable(entry)}" ${why}; nothing was unpacked`,
    { field: 'body', entry: printable(entry), reason: why, hint: UNSAFE_HINT },
  );
}

/**
 * Writes the request body to `file` (created new, mode 0600) while hashing it, refusing it once
 * it passes the limit. On any failure — too large, the client gone, a disk error — the file is
 * removed before the error is thrown.
 */
export async function receiveArchive(
  body: Readable,
  file: string,
  limits: ReleaseLimits,
): Promise<{ digest: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  const meter = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      size += chunk.length;
      if (size > limits.maxUploadBytes) return done(tooLarge('upload', limits.maxUploadBytes, 'bytes'));
      hash.update(chunk);
      done(null, chunk);
    },
  });
  // The request is piped, not part of the pipeline: a refusal must not destroy it (that resets the
  // connection under the answer); its rest is read and dropped instead, as Node does for any
  // unread body, up to one more limit's worth. A client that goes away fails the pipeline.
  body.pipe(meter);
  finished(body, (err) => {
    if (err) meter.destroy(err);
  });
  try {
    await pipeline(meter, createWriteStream(file, { flags: 'wx', mode: 0o600 }));
  } catch (err) {
    body.unpipe(meter);
    discard(body, limits.maxUploadBytes);
    await rm(file, { force: true });
    if (err instanceof IdpError) throw err;
    throw new IdpError('VALIDATION_FAILED', `the release upload did not complete: ${(err as Error).message}`, {
      field: 'body',
      hint: 'Upload the archive again.',
    });
  }
  return { digest: hash.digest('hex'), size };
}

/** Reads and drops what is left of a refused body; past `max` more bytes the connection is cut. */
function discard(body: Readable, max: number): void {
  if (body.readableEnded || body.destroyed) return;
  let dropped = 0;
  body.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > max) body.destroy();
  });
  body.resume();
}

/**
 * Unpacks the tar (or gzip'd tar) at `file` into `dir`, which must exist and be empty. The
 * archive is read twice: the first pass checks every entry (kind, path, duplicates, the
 * unpacked size and the entry count) and writes nothing, so a bomb or an unsafe entry is refused
 * before a single file exists; the second writes. Throws RELEASE_ARCHIVE_UNSAFE or
 * RELEASE_TOO_LARGE naming the entry; the caller removes `dir`.
 */
export async function unpackArchive(
  file: string,
  dir: string,
  limits: ReleaseLimits,
): Promise<{ entries: number; bytes: number }> {
  const seen = new Map<string, 'file' | 'dir'>();
  const checked = await walkArchive(file, limits, async (entry, rel, header) => {
    const parents = rel
      .split('/')
      .slice(0, -1)
      .map((_, i, all) => all.slice(0, i + 1).join('/'));
    if (
      parents.some((p) => seen.get(p) === 'file') ||
      (header.type === 'file' ? seen.has(rel) : seen.get(rel) === 'file')
    ) {
      throw unsafe(header.name, 'appears twice (or names a directory)');
    }
    for (const p of parents) seen.set(p, 'dir');
    seen.set(rel, header.type === 'file' ? 'file' : 'dir');
    entry.resume();
  });
  await walkArchive(file, limits, async (entry, rel, header) => {
    const target = join(dir, rel);
    if (header.type === 'directory') {
      await mkdir(target, { recursive: true, mode: 0o755 });
      entry.resume();
      return;
    }
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    // A new file, never an existing one and never through a link.
    const mode = (header.mode ?? 0o644) & 0o100 ? 0o755 : 0o644;
    const out = await open(
      target,
      constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
      mode,
    ).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EEXIST' || err.code === 'EISDIR')
        throw unsafe(header.name, 'appears twice (or names a directory)');
      throw err;
    });
    await pipeline(entry, out.createWriteStream());
  });
  return checked;
}

/** One entry's data (a streamx Readable, which node:stream's pipeline takes too). */
type TarEntry = ReturnType<typeof tarExtract> extends AsyncIterable<infer E> ? E : never;
type EntryHandler = (entry: TarEntry, rel: string, header: Header) => Promise<void>;

/** Streams the archive's entries through the rules (kind, path, size, count) to `handle`, which must consume each entry. */
async function walkArchive(
  file: string,
  limits: ReleaseLimits,
  handle: EntryHandler,
): Promise<{ entries: number; bytes: number }> {
  const gzipped = await isGzip(file);
  const source = createReadStream(file);
  const extract = tarExtract();
  // The decompressed stream is capped too: padding or data after the last entry counts.
  const streamCap = limits.maxUnpackedBytes + limits.maxFiles * 1024 + MIB;
  let streamed = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _enc, done: TransformCallback) {
      streamed += chunk.length;
      if (streamed > streamCap) return done(tooLarge('archive, unpacked,', limits.maxUnpackedBytes, 'bytes'));
      done(null, chunk);
    },
  });
  const feeding = (gzipped ? pipeline(source, createGunzip(), cap, extract) : pipeline(source, cap, extract)).then(
    () => null,
    (err: Error) => err,
  );

  let entries = 0;
  let bytes = 0;
  try {
    for await (const entry of extract) {
      const header: Header = entry.header;
      const rel = checkedPath(header.name);
      entries++;
      if (entries > limits.maxFiles)
        throw tooLarge('archive', limits.maxFiles, 'entries', { entry: printable(header.name) });
      if (rel === null) {
        entry.resume();
        continue;
      }
      if (header.type !== 'file' && header.type !== 'directory') throw unsafe(header.name, describeType(header));
      const size = header.type === 'file' ? (header.size ?? 0) : 0;
      if (bytes + size > limits.maxUnpackedBytes) {
        throw tooLarge('archive, unpacked,', limits.maxUnpackedBytes, 'bytes', {
          entry: printable(header.name),
          entrySize: size,
        });
      }
      bytes += size;
      await handle(entry, rel, header);
    }
  } catch (err) {
    extract.destroy();
    source.destroy();
    await feeding;
    throw asArchiveError(err);
  }
  const failed = await feeding;
  if (failed) throw asArchiveError(failed);
  return { entries, bytes };
}

/** Whether the release has a regular file at `rel` (never followed through a link). */
export async function releaseFileExists(dir: string, rel: string): Promise<boolean> {
  let at = dir;
  for (const part of rel.split('/')) {
    at = join(at, part);
    const st = await lstat(at).catch(() => null);
    if (!st || st.isSymbolicLink()) return false;
  }
  return (await lstat(at)).isFile();
}

/**
 * A file of the release read as text, only when it is a regular file inside `dir` reached
 * without following any link, and at most `maxBytes`: null when it is missing. A link or
 * another kind of file is RELEASE_ARCHIVE_UNSAFE (and its target is never opened).
 */
export async function readReleaseFile(dir: string, rel: string, maxBytes: number): Promise<string | null> {
  let at = dir;
  const parts = rel.split('/');
  for (const [i, part] of parts.entries()) {
    at = join(at, part);
    const st = await lstat(at).catch(() => null);
    if (!st) return null;
    const last = i === parts.length - 1;
    if (st.isSymbolicLink()) throw unsafe(parts.slice(0, i + 1).join('/'), 'is a symbolic link');
    if (!last && !st.isDirectory()) return null;
    if (last && !st.isFile()) throw unsafe(rel, 'is not a regular file');
    if (last && st.size > maxBytes) throw tooLarge(rel, maxBytes, 'bytes', { entry: rel });
  }
  const handle = await open(join(dir, rel), constants.O_RDONLY | constants.O_NOFOLLOW);
  try {
    const buf = Buffer.alloc(maxBytes + 1);
    const { bytesRead } = await handle.read(buf, 0, maxBytes + 1, 0);
    if (bytesRead > maxBytes) throw tooLarge(rel, maxBytes, 'bytes', { entry: rel });
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** The entry's path relative to the release, or null for the archive's root itself; unsafe paths throw. */
function checkedPath(name: string): string | null {
  if (name.includes('\0')) throw unsafe(name, 'has a NUL byte in its name');
  if (name.length > MAX_PATH_LENGTH)
    throw unsafe(name.slice(0, 80), `has a name longer than ${MAX_PATH_LENGTH} characters`);
  if (name.startsWith('/') || /^[A-Za-z]:[\\/]/.test(name)) throw unsafe(name, 'has an absolute path');
  const parts = name.split('/').filter((p) => p !== '' && p !== '.');
  if (parts.includes('..')) throw unsafe(name, 'leaves the release directory (`..`)');
  if (parts.some((p) => p.includes('\\'))) throw unsafe(name, 'has a backslash in its path');
  if (parts.length > MAX_DEPTH) throw unsafe(name, `is nested more than ${MAX_DEPTH} directories deep`);
  return parts.length ? posix.join(...parts) : null;
}

function describeType(header: Header): string {
  switch (header.type) {
    case 'symlink':
      return 'is a symbolic link';
    case 'link':
      return 'is a hard link';
    case 'character-device':
    case 'block-device':
      return 'is a device';
    case 'fifo':
      return 'is a fifo';
    default:
      return `is of type ${header.type ?? 'unknown'}, not a regular file or directory`;
  }
}

function asArchiveError(err: unknown): IdpError {
  if (err instanceof IdpError) return err;
  const message = (err as Error).message ?? String(err);
  return new IdpError(
    'VALIDATION_FAILED',
    `the release archive is not a tar file (or a gzip'd one): ${message.split('\n')[0]!.slice(0, 200)}`,
    {
      field: 'body',
      hint: 'Send `git archive --format=tar <ref>` of the service directory.',
    },
  );
}

async function isGzip(file: string): Promise<boolean> {
  const handle = await open(file, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await handle.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf[0] === 0x1f && buf[1] === 0x8b;
  } finally {
    await handle.close();
  }
}

function printable(name: string): string {
  // eslint-disable-next-line no-control-regex
  return name.replace(/[\u0000-\u001f\u007f]/g, '?').slice(0, 200);
}

export function formatSize(bytes: number): string {
  if (bytes >= MIB && bytes % MIB === 0) return `${bytes / MIB} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}
