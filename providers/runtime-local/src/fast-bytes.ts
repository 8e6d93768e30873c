// The common heads of the edge proxy's fast path read straight from the bytes: a plain request
// (no X-Forwarded-For, plain Connection) and a response framed by Content-Length. Only the few
// strings the proxy needs are made (method, target, Host, a traceparent); the header lines go on
// as byte ranges of what was read. Anything else, valid or not, returns undefined and goes to the
// string parser of fast-head.ts, which decides as before: these functions never accept a head
// that parser refuses (fast-bytes.test.ts checks both on the same heads).

const CR = 13;
const LF = 10;
const SP = 32;
const HTAB = 9;
const COLON = 58;
const SLASH = 47;
/** Header lines per head at most, as fast-head.ts (node's default). */
const MAX_HEADERS = 2000;

function table(test: (byte: number) => boolean): Uint8Array {
  const t = new Uint8Array(256);
  for (let b = 0; b < 256; b++) t[b] = test(b) ? 1 : 0;
  return t;
}
const TCHAR_SET = "!#$%&'*+.^_`|~-";
/** RFC 9110 tchar. */
const TCHAR = table(
  (b) =>
    (b >= 0x30 && b <= 0x39) ||
    (b >= 0x41 && b <= 0x5a) ||
    (b >= 0x61 && b <= 0x7a) ||
    TCHAR_SET.includes(String.fromCharCode(b)),
);
/** Control characters other than HTAB (CR and LF among them): never in a header value. */
const BAD_VALUE = table((b) => (b <= 0x1f && b !== HTAB) || b === 0x7f);

/**
 * Whether the token at buf[at, at + lower.length) is `lower` (a lower-case name of letters and
 * '-') in any case. Safe on tchars only: no other tchar becomes a letter or '-' with bit 0x20.
 */
function nameIs(buf: Buffer, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) if ((buf[at + i]! | 0x20) !== lower.charCodeAt(i)) return false;
  return true;
}

function bytesAre(buf: Buffer, at: number, end: number, text: string): boolean {
  if (end - at !== text.length) return false;
  for (let i = 0; i < text.length; i++) if (buf[at + i] !== text.charCodeAt(i)) return false;
  return true;
}

/** The value of 1 to `max` decimal digits at buf[at, end), or -1. */
function digits(buf: Buffer, at: number, end: number, max: number): number {
  if (end <= at || end - at > max) return -1;
  let n = 0;
  for (let i = at; i < end; i++) {
    const d = buf[i]! - 0x30;
    if (d < 0 || d > 9) return -1;
    n = n * 10 + d;
  }
  return n;
}

/** One header line, found by `nextHeader`. */
interface Line {
  /** Start of the line, end of its name, its value trimmed of OWS, and the start of the next line. */
  start: number;
  nameEnd: number;
  valueStart: number;
  valueEnd: number;
  next: number;
}
const line: Line = { start: 0, nameEnd: 0, valueStart: 0, valueEnd: 0, next: 0 };

/**
 * The header line at `at` (the head's last line ends at `end`, where its CRLF CRLF starts) into
 * `line`; false when it is not `token ":" OWS value OWS CRLF` with a value free of control characters.
 */
function nextHeader(buf: Buffer, at: number, end: number): boolean {
  let i = at;
  while (TCHAR[buf[i]!] === 1) i++;
  if (i === at || buf[i] !== COLON || i >= end) return false;
  line.start = at;
  line.nameEnd = i;
  i++;
  while (i < end && (buf[i] === SP || buf[i] === HTAB)) i++;
  const valueStart = i;
  while (i < end && buf[i] !== CR) {
    if (BAD_VALUE[buf[i]!] === 1) return false;
    i++;
  }
  if (buf[i + 1] !== LF) return false; // a bare CR (i === end is the head's own CRLF)
  let valueEnd = i;
  while (valueEnd > valueStart && (buf[valueEnd - 1] === SP || buf[valueEnd - 1] === HTAB)) valueEnd--;
  line.valueStart = valueStart;
  line.valueEnd = valueEnd;
  line.next = i + 2;
  return true;
}

/** Appends [start, end) to a list of byte ranges, joining it to the last one when they touch. */
function keep(ranges: number[], start: number, end: number): void {
  const n = ranges.length;
  if (n > 0 && ranges[n - 1] === start) ranges[n - 1] = end;
  else ranges.push(start, end);
}

/** Below this, bytes are copied in a loop: Buffer#copy allocates a view per call. */
const SHORT_COPY = 512;

function copyBytes(from: Buffer, start: number, end: number, to: Buffer, at: number): number {
  if (end - start > SHORT_COPY) return at + from.copy(to, at, start, end);
  for (let i = start; i < end; i++) to[at++] = from[i]!;
  return at;
}

function copyRanges(from: Buffer, ranges: number[], to: Buffer, at: number): number {
  for (let i = 0; i < ranges.length; i += 2) at = copyBytes(from, ranges[i]!, ranges[i + 1]!, to, at);
  return at;
}

function rangesLength(ranges: number[]): number {
  let n = 0;
  for (let i = 0; i < ranges.length; i += 2) n += ranges[i + 1]! - ranges[i]!;
  return n;
}

export interface ByteRequest {
  method: string;
  url: string;
  host: string;
  contentLength: number;
  close: boolean;
  /** The client's traceparent (the first one); the proxy sends its own. */
  traceparent: string | undefined;
  /** Byte ranges of the head to send on: the request line and the header lines kept, with their CRLF. */
  ranges: number[];
}

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS'];

function methodOf(buf: Buffer, end: number): string {
  for (const method of METHODS) if (bytesAre(buf, 0, end, method)) return method;
  return buf.toString('latin1', 0, end);
}

/**
 * A plain request whose head is buf[0, end) (end: where its CRLF CRLF starts), or undefined:
 * then parseRequestHead and forwardRequestHead decide.
 */
export function scanRequest(buf: Buffer, end: number): ByteRequest | undefined {
  let i = 0;
  while (i < end && buf[i]! >= 0x41 && buf[i]! <= 0x5a) i++; // [A-Z]+
  const methodEnd = i;
  if (methodEnd === 0 || buf[i] !== SP || buf[i + 1] !== SLASH) return undefined;
  const urlStart = ++i;
  while (i < end && buf[i]! > SP && buf[i] !== 0x7f) i++;
  const urlEnd = i;
  if (!bytesAre(buf, i, i + 9, ' HTTP/1.1') || i + 9 >= end || buf[i + 9] !== CR || buf[i + 10] !== LF) {
    return undefined;
  }
  const ranges: number[] = [0, i + 11];
  let host: string | undefined;
  let contentLength = -1;
  let close = false;
  let traceparent: string | undefined;
  let count = 0;
  for (let at = i + 11; at < end; at = line.next) {
    if (!nextHeader(buf, at, end) || ++count > MAX_HEADERS) return undefined;
    const { nameEnd, valueStart, valueEnd } = line;
    let kept = true;
    switch (nameEnd - at) {
      case 2:
        if (nameIs(buf, at, 'te')) kept = false;
        break;
      case 4:
        if (nameIs(buf, at, 'host')) {
          if (host !== undefined) return undefined;
          host = buf.toString('latin1', valueStart, valueEnd);
        }
        break;
      case 6:
        if (nameIs(buf, at, 'expect')) return undefined;
        break;
      case 7:
        if (nameIs(buf, at, 'upgrade')) return undefined;
        break;
      case 10:
        if (nameIs(buf, at, 'connection')) {
          if (bytesAre(buf, valueStart, valueEnd, 'close') || bytesAre(buf, valueStart, valueEnd, 'Close'))
            close = true;
          else if (
            !bytesAre(buf, valueStart, valueEnd, 'keep-alive') &&
            !bytesAre(buf, valueStart, valueEnd, 'Keep-Alive')
          )
            return undefined;
          kept = false;
        } else if (nameIs(buf, at, 'keep-alive')) kept = false;
        break;
      case 11:
        if (nameIs(buf, at, 'traceparent')) {
          traceparent ??= buf.toString('latin1', valueStart, valueEnd);
          kept = false;
        }
        break;
      case 14:
        if (nameIs(buf, at, 'content-length')) {
          if (contentLength >= 0) return undefined;
          contentLength = digits(buf, valueStart, valueEnd, 15);
          if (contentLength < 0) return undefined;
        }
        break;
      case 15:
        if (nameIs(buf, at, 'x-forwarded-for')) return undefined;
        break;
      case 16:
        if (
          nameIs(buf, at, 'proxy-connection') ||
          nameIs(buf, at, 'x-forwarded-host') ||
          nameIs(buf, at, 'x-forwarded-port')
        )
          kept = false;
        break;
      case 17:
        if (nameIs(buf, at, 'transfer-encoding')) return undefined;
        if (nameIs(buf, at, 'x-forwarded-proto')) kept = false;
        break;
    }
    if (kept) keep(ranges, at, line.next);
  }
  if (host === undefined) return undefined;
  return {
    method: methodOf(buf, methodEnd),
    url: buf.toString('latin1', urlStart, urlEnd),
    host,
    contentLength: contentLength < 0 ? 0 : contentLength,
    close,
    traceparent,
    ranges,
  };
}

/** The head for the replica: the kept bytes of the client's head, then `lines` and `last` (ending with the blank line). */
export function requestHeadBytes(buf: Buffer, request: ByteRequest, lines: string, last: string): Buffer {
  const out = Buffer.allocUnsafe(rangesLength(request.ranges) + lines.length + last.length);
  const at = copyRanges(buf, request.ranges, out, 0);
  out.write(last, at + out.write(lines, at, 'latin1'), 'latin1');
  return out;
}

export interface ByteResponse {
  status: number;
  length: number;
  close: boolean;
  keepAliveMs: number | undefined;
  /** Byte ranges of the head to pass on after `HTTP/1.1`: the rest of the status line and the header lines kept. */
  ranges: number[];
}

const TIMEOUT = 'timeout=';

/**
 * A response framed by Content-Length whose head is buf[start, end), to a request other than
 * HEAD, or undefined: then parseResponseHead and forwardResponseHeaders decide.
 */
export function scanResponse(buf: Buffer, start: number, end: number, method: string): ByteResponse | undefined {
  if (method === 'HEAD' || !bytesAre(buf, start, start + 7, 'HTTP/1.')) return undefined;
  const minor = buf[start + 7];
  if ((minor !== 0x30 && minor !== 0x31) || buf[start + 8] !== SP) return undefined;
  const status = digits(buf, start + 9, start + 12, 3);
  if (status < 200 || status === 204 || status === 304) return undefined;
  let i = start + 12;
  if (buf[i] === SP) {
    i++;
    while (i < end && buf[i] !== CR) {
      if (BAD_VALUE[buf[i]!] === 1) return undefined;
      i++;
    }
  }
  if (i >= end || buf[i] !== CR || buf[i + 1] !== LF) return undefined;
  const ranges: number[] = [start + 8, i + 2];
  let length = -1;
  let close = minor === 0x30;
  let keepAliveMs: number | undefined;
  let count = 0;
  for (let at = i + 2; at < end; at = line.next) {
    if (!nextHeader(buf, at, end) || ++count > MAX_HEADERS) return undefined;
    const { nameEnd, valueStart, valueEnd } = line;
    let kept = true;
    switch (nameEnd - at) {
      case 10:
        if (nameIs(buf, at, 'keep-alive')) {
          const timeout = bytesAre(buf, valueStart, valueStart + TIMEOUT.length, TIMEOUT)
            ? digits(buf, valueStart + TIMEOUT.length, valueEnd, 9)
            : -1;
          if (timeout < 0) return undefined;
          keepAliveMs = timeout * 1000;
          kept = false;
        } else if (nameIs(buf, at, 'connection')) {
          if (bytesAre(buf, valueStart, valueEnd, 'close') || bytesAre(buf, valueStart, valueEnd, 'Close'))
            close = true;
          else if (
            bytesAre(buf, valueStart, valueEnd, 'keep-alive') ||
            bytesAre(buf, valueStart, valueEnd, 'Keep-Alive')
          ) {
            if (minor === 0x30) close = false;
          } else return undefined;
          kept = false;
        }
        break;
      case 14:
        if (nameIs(buf, at, 'content-length')) {
          if (length >= 0) return undefined;
          length = digits(buf, valueStart, valueEnd, 15);
          if (length < 0) return undefined;
        }
        break;
      case 17:
        if (nameIs(buf, at, 'transfer-encoding')) return undefined;
        break;
    }
    if (kept) keep(ranges, at, line.next);
  }
  if (length < 0) return undefined;
  return { status, length, close, keepAliveMs, ranges };
}

const HTTP11 = Buffer.from('HTTP/1.1', 'latin1');

/**
 * The head for the client (`HTTP/1.1`, the kept bytes, then `tail` ending with the blank line),
 * followed by `bodyLength` bytes of buf from `bodyStart` when the whole body is in hand.
 */
export function responseBytes(
  buf: Buffer,
  response: ByteResponse,
  tail: string,
  bodyStart: number,
  bodyLength: number,
): Buffer {
  const out = Buffer.allocUnsafe(HTTP11.length + rangesLength(response.ranges) + tail.length + bodyLength);
  let at = copyBytes(HTTP11, 0, HTTP11.length, out, 0);
  at = copyRanges(buf, response.ranges, out, at);
  at += out.write(tail, at, 'latin1');
  if (bodyLength > 0) copyBytes(buf, bodyStart, bodyStart + bodyLength, out, at);
  return out;
}
