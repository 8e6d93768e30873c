// Strict parsing of HTTP/1.1 heads for the edge proxy's fast path. It accepts only what it fully
// understands: anything else (HTTP/1.0, chunked or Expect requests, upgrades, obs-fold, bare LF,
// duplicate Host or Content-Length, odd characters, a head that is not complete in hand) returns
// undefined and the connection goes to node's own HTTP server, which answers it as before.

/** Node's default limits: 16 KiB of head, 2,000 headers. */
export const MAX_HEAD_BYTES = 16 * 1024;
const MAX_HEADERS = 2000;

/* eslint-disable no-control-regex -- these patterns exist to refuse control characters */
const REQUEST_LINE = /^([A-Z]+) (\/[^\x00-\x20\x7f]*) HTTP\/1\.1$/;
const STATUS_LINE = /^HTTP\/1\.([01]) ([1-9]\d\d)(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?$/;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** Control characters other than HTAB (CR and LF among them) may not appear in a header value. */
const BAD_VALUE = /[\x00-\x08\x0a-\x1f\x7f]/;
/* eslint-enable no-control-regex */

const SP = 32;
const HTAB = 9;

/**
 * The header lines of `head` from `from` on (lines end with CRLF; the head's last line has none)
 * as name, value, name, value … into `raw`; false when a line is not `token ":" OWS value OWS`.
 */
function headerLines(head: string, from: number, raw: string[]): boolean {
  const end = head.length;
  let pos = from;
  while (pos < end) {
    let eol = head.indexOf('\r\n', pos);
    if (eol < 0) eol = end;
    const colon = head.indexOf(':', pos);
    if (colon <= pos || colon > eol) return false;
    const name = head.slice(pos, colon);
    if (!TOKEN.test(name)) return false;
    let first = colon + 1;
    let last = eol;
    while (first < last && (head.charCodeAt(first) === SP || head.charCodeAt(first) === HTAB)) first++;
    while (last > first && (head.charCodeAt(last - 1) === SP || head.charCodeAt(last - 1) === HTAB)) last--;
    const value = head.slice(first, last);
    if (BAD_VALUE.test(value)) return false;
    raw.push(name, value);
    if (raw.length > 2 * MAX_HEADERS) return false;
    pos = eol + 2;
  }
  return true;
}
const DIGITS = /^\d{1,15}$/;

export interface RequestHead {
  method: string;
  url: string;
  /** Header names and values, alternating, as sent. */
  raw: string[];
  contentLength: number;
  /** The client asked to close the connection after this answer. */
  close: boolean;
}

function hasToken(value: string, token: string): boolean {
  if (value === token) return true;
  if (value === 'keep-alive' || value === 'close') return false;
  const lower = value.toLowerCase();
  if (!lower.includes(token)) return false;
  return lower.split(',').some((part) => part.trim() === token);
}

/** The head (without its final CRLF CRLF) of a request the fast path can forward, or undefined. */
export function parseRequestHead(head: string): RequestHead | undefined {
  const lineEnd = head.indexOf('\r\n');
  const start = REQUEST_LINE.exec(lineEnd < 0 ? head : head.slice(0, lineEnd));
  if (start === null) return undefined;
  const raw: string[] = [];
  if (lineEnd >= 0 && !headerLines(head, lineEnd + 2, raw)) return undefined;
  let contentLength = -1;
  let host = false;
  let close = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    switch (name.length) {
      case 4:
        if (name.toLowerCase() === 'host') {
          if (host) return undefined;
          host = true;
        }
        break;
      case 6:
        if (name.toLowerCase() === 'expect') return undefined;
        break;
      case 7:
        if (name.toLowerCase() === 'upgrade') return undefined;
        break;
      case 10:
        if (name.toLowerCase() === 'connection') {
          if (hasToken(value, 'upgrade')) return undefined;
          if (hasToken(value, 'close')) close = true;
        }
        break;
      case 14:
        if (name.toLowerCase() === 'content-length') {
          if (contentLength >= 0 || !DIGITS.test(value)) return undefined;
          contentLength = Number(value);
        }
        break;
      case 17:
        if (name.toLowerCase() === 'transfer-encoding') return undefined;
        break;
    }
  }
  if (!host) return undefined;
  return { method: start[1]!, url: start[2]!, raw, contentLength: contentLength < 0 ? 0 : contentLength, close };
}

/** How a response's body ends. */
export type Framing = 'none' | 'length' | 'chunked' | 'close';

export interface ResponseHead {
  status: number;
  reason: string;
  raw: string[];
  framing: Framing;
  /** Body length for 'length'. */
  length: number;
  /** The Transfer-Encoding value, passed on as it is (the body is relayed with its chunks). */
  transferEncoding: string | undefined;
  /** The backend will not take another request on this connection. */
  close: boolean;
  /** How long the backend keeps the idle connection open (its Keep-Alive timeout), in ms. */
  keepAliveMs: number | undefined;
}

const KEEP_ALIVE_TIMEOUT = /(?:^|[,;\s])timeout=(\d{1,9})/i;

/** A backend's response head, or a string saying what is wrong with it. */
export function parseResponseHead(head: string, method: string): ResponseHead | string {
  const lineEnd = head.indexOf('\r\n');
  const start = STATUS_LINE.exec(lineEnd < 0 ? head : head.slice(0, lineEnd));
  if (start === null) return 'invalid status line';
  const status = Number(start[2]);
  const raw: string[] = [];
  if (lineEnd >= 0 && !headerLines(head, lineEnd + 2, raw)) return 'invalid header';
  let length = -1;
  let transferEncoding: string | undefined;
  let close = start[1] === '0';
  let keepAliveMs: number | undefined;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    const value = raw[i + 1]!;
    if (name.length === 10 && name.toLowerCase() === 'keep-alive') {
      const timeout = KEEP_ALIVE_TIMEOUT.exec(value);
      if (timeout !== null) keepAliveMs = Number(timeout[1]) * 1000;
    } else if (name.length === 14 && name.toLowerCase() === 'content-length') {
      if (!DIGITS.test(value) || (length >= 0 && Number(value) !== length)) return 'invalid content-length';
      length = Number(value);
    } else if (name.length === 17 && name.toLowerCase() === 'transfer-encoding') {
      if (transferEncoding !== undefined) return 'repeated transfer-encoding';
      transferEncoding = value;
    } else if (name.length === 10 && name.toLowerCase() === 'connection') {
      if (hasToken(value, 'close')) close = true;
      else if (start[1] === '0' && hasToken(value, 'keep-alive')) close = false;
    }
  }
  if (transferEncoding !== undefined && length >= 0) return 'both content-length and transfer-encoding';
  let framing: Framing;
  if (method === 'HEAD' || status === 204 || status === 304 || status < 200) framing = 'none';
  else if (transferEncoding !== undefined)
    framing = /(^|,)\s*chunked\s*$/i.test(transferEncoding) ? 'chunked' : 'close';
  else framing = length >= 0 ? 'length' : 'close';
  if (framing === 'close') close = true;
  return {
    status,
    reason: start[3] ?? '',
    raw,
    framing,
    length: length < 0 ? 0 : length,
    transferEncoding,
    close,
    keepAliveMs,
  };
}

const CR = 13;
const LF = 10;

/** Finds where a chunked body ends while its bytes are relayed as they are (sizes, data, trailers). */
export class ChunkedScanner {
  /** 0 size line, 1 data, 2 CRLF after data, 3 trailer lines, 4 done. */
  private state = 0;
  private size = 0;
  private digits = 0;
  private inExtension = false;
  private lineLength = 0;
  private sawCr = false;

  get done(): boolean {
    return this.state === 4;
  }

  /**
   * Scans `chunk`; returns how many of its bytes belong to the body (all of them unless the end
   * is in it), or -1 when the framing is broken.
   */
  scan(chunk: Buffer): number {
    let i = 0;
    const n = chunk.length;
    while (i < n) {
      if (this.state === 1) {
        const take = Math.min(this.size, n - i);
        this.size -= take;
        i += take;
        if (this.size === 0) this.state = 2;
        continue;
      }
      const byte = chunk[i++]!;
      if (this.state === 0) {
        if (this.sawCr) {
          if (byte !== LF || this.digits === 0) return -1;
          this.sawCr = false;
          this.inExtension = false;
          this.digits = 0;
          if (this.size === 0) {
            this.state = 3;
            this.lineLength = 0;
          } else this.state = 1;
        } else if (byte === CR) this.sawCr = true;
        else if (this.inExtension) {
          if (byte === LF) return -1;
        } else if (byte === 0x3b /* ; */ || byte === 0x20 || byte === 0x09) this.inExtension = true;
        else {
          const digit = hexValue(byte);
          if (digit < 0 || this.digits >= 12) return -1;
          this.size = this.size * 16 + digit;
          this.digits++;
        }
      } else if (this.state === 2) {
        if (this.sawCr) {
          if (byte !== LF) return -1;
          this.sawCr = false;
          this.state = 0;
          this.size = 0;
        } else if (byte === CR) this.sawCr = true;
        else return -1;
      } else if (this.state === 3) {
        if (this.sawCr) {
          if (byte !== LF) return -1;
          this.sawCr = false;
          if (this.lineLength === 0) {
            this.state = 4;
            return i;
          }
          this.lineLength = 0;
        } else if (byte === CR) this.sawCr = true;
        else if (byte === LF) return -1;
        else if (++this.lineLength > MAX_HEAD_BYTES) return -1;
      } else return -1; // bytes after the end
    }
    return n;
  }
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  return -1;
}
