// Per-replica log files. The replica writes into its file through the timestamping filter
// (log-stamp.ts; the file descriptor is the filter's stdout, opened O_APPEND), so logging costs
// the control plane nothing and keeps working while the control plane is down. Rotation is in
// log-rotation.ts.
import { closeSync, openSync, readSync, statSync, writeSync } from 'node:fs';
import { stampOf, unstampText } from './log-stamp.ts';

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
  return unstampText(text);
}

/** Append one supervisor line (start, exit, restart) so the log explains itself. */
export function appendLogLine(file: string, line: string): void {
  try {
    const fd = openSync(file, 'a');
    try {
      writeSync(fd, `${stampOf(Date.now())}${line}\n`);
    } finally {
      closeSync(fd);
    }
  } catch {
    /* a log line is not worth failing a replica for */
  }
}
