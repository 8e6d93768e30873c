// Reading replica log files newest line first, in fixed-size chunks from the end, so a query for
// the last lines of a large file reads a few chunks and holds at most one chunk and one line
// (itself capped) in memory. A replica's lines span its file and the rotated copies
// (`replica-N.log`, `.1`, `.2` …), read in that order.
import { open, stat } from 'node:fs/promises';
import { parseStamped, rotatedFiles } from '@idp/runtime-local';

// Small: a query holds one chunk per replica file it merges (every release of the service has its own).
const CHUNK_BYTES = 16 * 1024;
/** A longer line is cut to this many bytes (its beginning, with the time, is kept). */
export const MAX_LINE_BYTES = 64 * 1024;
const NEWLINE = 0x0a;

/** The lines of a file, last first (a last line without a newline included), each at most maxLineBytes. */
export async function* linesBackward(
  file: string,
  opts: { chunkBytes?: number; maxLineBytes?: number } = {},
): AsyncGenerator<string> {
  const chunkBytes = opts.chunkBytes ?? CHUNK_BYTES;
  const maxLine = opts.maxLineBytes ?? MAX_LINE_BYTES;
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return;
  }
  try {
    let pos = (await handle.stat()).size;
    // The start of the line being read (its end was seen); bytes beyond maxLine are dropped from its end.
    let carry: Buffer = Buffer.alloc(0);
    let first = true;
    const chunk = Buffer.alloc(chunkBytes);
    while (pos > 0) {
      const length = Math.min(chunkBytes, pos);
      pos -= length;
      const { bytesRead } = await handle.read(chunk, 0, length, pos);
      const data = chunk.subarray(0, bytesRead);
      let end = data.length;
      for (let i = data.length - 1; i >= 0; i--) {
        if (data[i] !== NEWLINE) continue;
        const piece = joinLine(data.subarray(i + 1, end), carry, maxLine);
        carry = Buffer.alloc(0);
        end = i;
        // The newline that ends the file ends the last line; nothing follows it.
        if (first && piece.length === 0) {
          first = false;
          continue;
        }
        first = false;
        yield piece.toString('utf8');
      }
      const head = data.subarray(0, end);
      // A copy: `chunk` is reused by the next read.
      carry = Buffer.from(Buffer.concat([head, carry]).subarray(0, maxLine));
      if (end < data.length || head.length > 0) first = false;
    }
    if (carry.length > 0) yield carry.toString('utf8');
  } finally {
    await handle.close();
  }
}

function joinLine(head: Buffer, carry: Buffer, maxLine: number): Buffer {
  const joined = carry.length === 0 ? head : Buffer.concat([head, carry]);
  return joined.length > maxLine ? joined.subarray(0, maxLine) : joined;
}

export interface LogLine {
  /** Nanoseconds since the epoch. */
  ns: bigint;
  /** The line as the replica wrote it (the time prefix removed). */
  text: string;
}

/**
 * One replica's lines, newest first, across its file and the rotated copies. A line without a
 * time of its own (written without the timestamping filter) gets the time of the line after it,
 * or its file's modification time.
 */
export async function* replicaLinesBackward(file: string): AsyncGenerator<LogLine> {
  let later: bigint | null = null;
  for (const path of [file, ...rotatedFiles(file)]) {
    let fallback = later;
    if (fallback === null) {
      try {
        fallback = BigInt(Math.round((await stat(path)).mtimeMs)) * 1_000_000n;
      } catch {
        continue;
      }
    }
    for await (const raw of linesBackward(path)) {
      const { ns, text } = parseStamped(raw);
      const at: bigint = ns ?? later ?? fallback;
      later = at;
      yield { ns: at, text };
    }
  }
}
