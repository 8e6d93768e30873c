// Finding catalog files on disk: every catalog-info.yaml below a folder, and glob targets.
import { readdir } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';

const CATALOG_FILE_NAMES = new Set(['catalog-info.yaml', 'catalog-info.yml']);

/** Every catalog-info.yaml below a folder, skipping hidden folders and node_modules. */
export async function findCatalogFiles(dir: string, withLinks: boolean): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    const entries = await readdir(d, { withFileTypes: true });
    entries.sort((a, b) => (a.name < b.name ? -1 : 1));
    for (const e of entries) {
      if (e.name.startsWith('.') || e.name === 'node_modules') continue;
      const full = join(d, e.name);
      if (e.isDirectory()) await walk(full);
      // In a clone a symlink is listed too: the reader checks where it leads, and reports it.
      else if ((e.isFile() || (withLinks && e.isSymbolicLink())) && CATALOG_FILE_NAMES.has(e.name)) out.push(full);
    }
  };
  await walk(dir);
  return out;
}

/** `*` and `?` within a path segment, `**` for any number of folders (Node 20 has no fs.glob). */
export async function expandGlob(pattern: string): Promise<string[]> {
  const abs = resolve(pattern);
  const segments = abs.split(sep).filter((s, i) => s !== '' || i === 0);
  const firstGlob = segments.findIndex((s) => /[*?]/.test(s));
  const start = segments.slice(0, firstGlob).join(sep) || sep;
  const rest = segments.slice(firstGlob);
  const toRegex = (seg: string) =>
    new RegExp(
      `^${seg
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*/g, '[^/]*')
        .replace(/\?/g, '[^/]')}$`,
    );
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
      for (const e of entries)
        if (e.isDirectory() && !e.name.startsWith('.') && e.name !== 'node_modules') await walk(join(dir, e.name), i);
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
