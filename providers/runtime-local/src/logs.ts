// Per-replica log files. The replica writes straight into its file (the file descriptor is its
// stdout and stderr, opened O_APPEND), so logging costs the control plane nothing and keeps
// working while the control plane is down. The size is capped by copy-truncate, as logrotate's
// `copytruncate` does: the file is copied to `<file>.1` and truncated; the replica's O_APPEND
// descriptor then writes from offset 0 again. Lines written between the copy and the truncate are
// lost; that window is a few milliseconds once per `maxBytes` of output.
import { closeSync, copyFileSync, openSync, readSync, statSync, truncateSync, writeSync } from 'node:fs';

/** Rotate file to `<file>.1` when it is larger than maxBytes; true when it rotated. */
export function capLogFile(file: string, maxBytes: number): boolean {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return false;
  }
  if (size <= maxBytes) return false;
  copyFileSync(file, `${file}.1`);
  truncateSync(file, 0);
  return true;
}

function readLastBytes(file: string, maxBytes: number): Buffer {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return Buffer.alloc(0);
  }
  try {
    const size = statSync(file).size;
    const length = Math.min(size, maxBytes);
    const buffer = Buffer.alloc(length);
    const read = readSync(fd, buffer, 0, length, size - length);
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/**
 * The last maxBytes of a replica's output (reaching into the rotated `<file>.1` when the current
 * file is shorter), starting at a line boundary when it had to cut.
 */
export function readLogTail(file: string, maxBytes = 64 * 1024): string {
  let tail = readLastBytes(file, maxBytes);
  if (tail.length < maxBytes) {
    const older = readLastBytes(`${file}.1`, maxBytes - tail.length);
    if (older.length > 0) tail = Buffer.concat([older, tail]);
  }
  let text = tail.toString('utf8');
  if (tail.length >= maxBytes) {
    const newline = text.indexOf('\n');
    if (newline >= 0 && newline < text.length - 1) text = text.slice(newline + 1);
  }
  return text;
}

/** Append one supervisor line (start, exit, restart) so the log explains itself. */
export function appendLogLine(file: string, line: string): void {
  try {
    const fd = openSync(file, 'a');
    try {
      writeSync(fd, `${line}\n`);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* a log line is not worth failing a replica for */
  }
}
