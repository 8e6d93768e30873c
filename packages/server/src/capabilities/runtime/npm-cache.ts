import { chown, copyFile, link, mkdir, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Starts a team's npm cache from a seed cache (the control plane's, by default) so that
 * `npm ci --prefer-offline` works in a sandbox as it does outside: content files (immutable,
 * addressed by their hash and checked on read) are hard-linked and stay root-owned and
 * read-only to the team; index files, which npm appends to, are copied and given to the team's
 * build user; directories are the team's, so new packages can be added. Nothing the team writes
 * reaches the seed or another team. Falls back to copying across filesystems.
 */
export async function seedNpmCache(seed: string, dest: string, uid: number, gid: number): Promise<number> {
  let files = 0;
  const walk = async (from: string, to: string, linkFiles: boolean): Promise<void> => {
    await mkdir(to, { recursive: true, mode: 0o755 });
    await chown(to, uid, gid);
    for (const entry of await readdir(from, { withFileTypes: true })) {
      const src = join(from, entry.name);
      const dst = join(to, entry.name);
      if (entry.isDirectory()) await walk(src, dst, linkFiles);
      else if (entry.isFile()) {
        files++;
        if (linkFiles) {
          try {
            await link(src, dst);
            continue;
          } catch (err) {
            if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
          }
        }
        await copyFile(src, dst);
        await chown(dst, uid, gid);
      }
      // Symlinks and anything else in a cache are not followed or copied.
    }
  };
  let top;
  try {
    top = await readdir(join(seed, '_cacache'), { withFileTypes: true });
  } catch {
    return 0;
  }
  await mkdir(join(dest, '_cacache'), { recursive: true, mode: 0o755 });
  await chown(dest, uid, gid);
  await chown(join(dest, '_cacache'), uid, gid);
  for (const entry of top) {
    if (!entry.isDirectory() || entry.name === 'tmp') continue;
    await walk(
      join(seed, '_cacache', entry.name),
      join(dest, '_cacache', entry.name),
      entry.name.startsWith('content-'),
    );
  }
  return files;
}
