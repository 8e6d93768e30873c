// Following replica logs as they are written: the service's log directory and each release's
// directory are watched (inotify through fs.watch: a write shows within milliseconds), with a
// short poll as the fallback for what watching misses (a directory created later, a file system
// without events). Each file is read from where the last read stopped; a file that shrank was
// rotated (copy-truncate) and is read again from its start.
import { watch, type FSWatcher } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { parseStamped } from '@idp/runtime-local';
import { MAX_LINE_BYTES, type LogLine } from './log-reader.ts';

/** One replica's current log file. */
export interface ReplicaLog {
  release: string;
  replica: number;
  file: string;
}

const REPLICA_FILE = /^replica-([1-9][0-9]{0,5})\.log$/;
const READ_BYTES = 256 * 1024;

/** The current log file of every replica under a service's log directory (`<release>/replica-N.log`). */
export async function replicaLogs(serviceDir: string): Promise<ReplicaLog[]> {
  const found: ReplicaLog[] = [];
  let releases;
  try {
    releases = await readdir(serviceDir, { withFileTypes: true });
  } catch {
    return found;
  }
  for (const entry of releases) {
    if (!entry.isDirectory()) continue;
    let files: string[];
    try {
      files = await readdir(join(serviceDir, entry.name));
    } catch {
      continue;
    }
    for (const name of files) {
      const m = REPLICA_FILE.exec(name);
      if (m) found.push({ release: entry.name, replica: Number(m[1]), file: join(serviceDir, entry.name, name) });
    }
  }
  return found.sort((a, b) => a.release.localeCompare(b.release) || a.replica - b.replica);
}

let openWatchers = 0;

/** fs.watch handles held by followers now, across the process: a test that a disconnect releases them. */
export function watchersOpen(): number {
  return openWatchers;
}

export interface FollowOptions {
  serviceDir: string;
  /** Whether a replica's log is followed (the query's release and replica). */
  select(log: ReplicaLog): boolean;
  onLine(log: ReplicaLog, line: LogLine): void;
  /** The fallback poll; default 250 ms. */
  pollMs?: number;
  now?: () => number;
}

interface Position {
  offset: number;
  carry: Buffer;
}

export interface Follower {
  /** Resolves once the files present at the start have been measured: lines written after it are reported. */
  ready: Promise<void>;
  /** Stops watching and polling (idempotent). */
  stop(): void;
}

/** Starts following; lines already written are skipped. */
export function followLogs(opts: FollowOptions): Follower {
  const positions = new Map<string, Position>();
  const watchers = new Map<string, FSWatcher>();
  const now = opts.now ?? Date.now;
  let stopped = false;
  let scanning = false;
  let again = false;
  let initial = true;

  const closeWatcher = (dir: string) => {
    const watcher = watchers.get(dir);
    if (!watcher) return;
    watchers.delete(dir);
    watcher.close();
    openWatchers--;
  };
  const ensureWatcher = (dir: string) => {
    if (stopped || watchers.has(dir)) return;
    try {
      const watcher = watch(dir, { persistent: false }, () => trigger());
      watcher.on('error', () => closeWatcher(dir));
      watchers.set(dir, watcher);
      openWatchers++;
    } catch {
      /* not there yet: the poll looks again */
    }
  };

  const readNew = async (log: ReplicaLog, position: Position, size: number) => {
    const handle = await open(log.file, 'r');
    try {
      while (!stopped && position.offset < size) {
        const buffer = Buffer.alloc(Math.min(READ_BYTES, size - position.offset));
        const { bytesRead } = await handle.read(buffer, 0, buffer.length, position.offset);
        if (bytesRead === 0) break;
        position.offset += bytesRead;
        let data = Buffer.concat([position.carry, buffer.subarray(0, bytesRead)]);
        let newline = data.indexOf(0x0a);
        while (newline >= 0) {
          const { ns, text } = parseStamped(data.subarray(0, Math.min(newline, MAX_LINE_BYTES)).toString('utf8'));
          opts.onLine(log, { ns: ns ?? BigInt(now()) * 1_000_000n, text });
          data = data.subarray(newline + 1);
          newline = data.indexOf(0x0a);
        }
        position.carry = Buffer.from(data.subarray(0, MAX_LINE_BYTES));
      }
    } finally {
      await handle.close();
    }
  };

  const scan = async () => {
    ensureWatcher(opts.serviceDir);
    const logs = (await replicaLogs(opts.serviceDir)).filter((log) => opts.select(log));
    for (const log of logs) {
      if (stopped) return;
      ensureWatcher(join(opts.serviceDir, log.release));
      let size: number;
      try {
        size = (await stat(log.file)).size;
      } catch {
        continue;
      }
      let position = positions.get(log.file);
      if (!position) {
        // Present when following started: only what comes next. Appeared since: all of it.
        position = { offset: initial ? size : 0, carry: Buffer.alloc(0) };
        positions.set(log.file, position);
      }
      if (size < position.offset) position = Object.assign(position, { offset: 0, carry: Buffer.alloc(0) });
      if (size > position.offset) await readNew(log, position, size);
    }
    initial = false;
  };

  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  const trigger = () => {
    if (stopped) return;
    if (scanning) {
      again = true;
      return;
    }
    scanning = true;
    scan()
      .catch(() => {
        /* a file removed mid-read: the next scan sees the directory as it is */
      })
      .finally(() => {
        scanning = false;
        markReady();
        if (again) {
          again = false;
          trigger();
        }
      });
  };

  const timer = setInterval(trigger, opts.pollMs ?? 250);
  timer.unref();
  trigger();

  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
    for (const dir of [...watchers.keys()]) closeWatcher(dir);
    markReady();
  };
  return { ready, stop };
}
