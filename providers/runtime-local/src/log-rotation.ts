// Rotation of a replica's log: past maxBytes the file is copied to `<file>.1` (older copies shift
// to .2 … .maxFiles, the oldest is removed) and truncated, as logrotate's `copytruncate` does,
// because the replica's filter keeps its O_APPEND descriptor (it writes from offset 0 again).
// Lines written between the copy and the truncate are lost: a few milliseconds once per maxBytes.
// Rotated copies older than maxAgeMs are removed, so a chatty replica cannot fill the disk.
import { copyFileSync, readdirSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface RotationLimits {
  maxBytes: number;
  /** Rotated copies kept (`<file>.1` … `<file>.<maxFiles>`). */
  maxFiles: number;
  /** Rotated copies last written longer ago than this are removed. */
  maxAgeMs: number;
}

/** `<file>.<n>` for n ≥ 1, ordered newest (1) first. */
export function rotatedFiles(file: string): string[] {
  const name = basename(file);
  let entries: string[];
  try {
    entries = readdirSync(dirname(file));
  } catch {
    return [];
  }
  return entries
    .map((entry) => (entry.startsWith(`${name}.`) ? Number(entry.slice(name.length + 1)) : NaN))
    .filter((n) => Number.isInteger(n) && n >= 1)
    .sort((a, b) => a - b)
    .map((n) => join(dirname(file), `${name}.${n}`));
}

/** Rotates file when it is over maxBytes and removes copies beyond maxFiles or older than maxAgeMs; true when it rotated. */
export function rotateLogFile(file: string, limits: RotationLimits, now = Date.now()): boolean {
  let rotated = false;
  let size = 0;
  try {
    size = statSync(file).size;
  } catch {
    /* no file yet: only the copies' ages */
  }
  if (size > limits.maxBytes) {
    for (const old of rotatedFiles(file).reverse()) {
      const n = Number(old.slice(file.length + 1));
      if (n >= limits.maxFiles) rmSync(old, { force: true });
      else renameSync(old, `${file}.${n + 1}`);
    }
    copyFileSync(file, `${file}.1`);
    truncateSync(file, 0);
    rotated = true;
  }
  for (const old of rotatedFiles(file)) {
    try {
      if (now - statSync(old).mtimeMs > limits.maxAgeMs) rmSync(old, { force: true });
    } catch {
      /* removed meanwhile */
    }
  }
  return rotated;
}
