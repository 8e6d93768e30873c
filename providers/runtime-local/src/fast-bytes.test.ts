// The byte readers of fast-bytes.ts against the string parser they stand in for: on every head
// (plain ones, odd ones, and seeded random mutations of both) a head the byte reader takes is one
// the string parser takes too, with the same routing facts and the same headers sent on.
import { describe, expect, it } from 'vitest';
import { requestHeadBytes, responseBytes, scanRequest, scanResponse } from './fast-bytes.ts';
import { parseRequestHead, parseResponseHead } from './fast-head.ts';
import { forwardRequestHead, forwardResponseHeaders } from './headers.ts';

const TAIL = 'x-forwarded-for: 10.0.0.1\r\nx-forwarded-proto: http\r\nx-forwarded-port: 7080\r\n';

/** Header lines of a head as [name, value trimmed] pairs (the first line skipped). */
function headerPairs(head: string): string[] {
  const pairs: string[] = [];
  for (const line of head.split('\r\n').slice(1)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    pairs.push(line.slice(0, colon), line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, ''));
  }
  return pairs;
}

/** Checks the byte reader against the string parser on one request head; whether the byte reader took it. */
function sameRequest(head: string): boolean {
  const buf = Buffer.from(`${head}\r\n\r\nBODY`, 'latin1');
  const bytes = scanRequest(buf, head.length);
  if (bytes === undefined) return false;
  const parsed = parseRequestHead(head);
  expect(parsed, head).toBeDefined();
  const forwarded = forwardRequestHead(parsed!.raw, '10.0.0.1', '7080');
  expect([bytes.method, bytes.url, bytes.contentLength, bytes.close, bytes.host, bytes.traceparent], head).toEqual([
    parsed!.method,
    parsed!.url,
    parsed!.contentLength,
    parsed!.close,
    forwarded.host,
    forwarded.traceparent,
  ]);
  const out = requestHeadBytes(buf, bytes, `${TAIL}x-forwarded-host: ${bytes.host}\r\n`, '\r\n').toString('latin1');
  expect(out.endsWith('\r\n\r\n') && out.indexOf('\r\n\r\n') === out.length - 4, head).toBe(true);
  expect(out.slice(0, out.indexOf('\r\n')), head).toBe(`${parsed!.method} ${parsed!.url} HTTP/1.1`);
  expect(headerPairs(out), head).toEqual(forwarded.headers);
  return true;
}

/** The same for a response head; whether the byte reader took it. */
function sameResponse(head: string, method = 'GET'): boolean {
  const body = 'abc';
  const buf = Buffer.from(`${head}\r\n\r\n${body}`, 'latin1');
  const bytes = scanResponse(buf, 0, head.length, method);
  if (bytes === undefined) return false;
  const parsed = parseResponseHead(head, method);
  expect(typeof parsed, head).toBe('object');
  if (typeof parsed === 'string') return true;
  expect([bytes.status, 'length', bytes.length, bytes.close, bytes.keepAliveMs], head).toEqual([
    parsed.status,
    parsed.framing,
    parsed.length,
    parsed.close,
    parsed.keepAliveMs,
  ]);
  const out = responseBytes(buf, bytes, 'x-idp-release: r@1\r\n\r\n', head.length + 4, 3).toString('latin1');
  expect(out.startsWith(`HTTP/1.1 ${parsed.status}`), head).toBe(true);
  expect(out.endsWith(`\r\n\r\n${body}`), head).toBe(true);
  expect(headerPairs(out.slice(0, -body.length)), head).toEqual(forwardResponseHeaders(parsed.raw, 'r@1'));
  return true;
}

const REQUESTS = [
  'GET / HTTP/1.1\r\nhost: bench-api.bench.localhost\r\nConnection: keep-alive',
  'POST /a?b=1 HTTP/1.1\r\nHost: x.localhost\r\nX-Two:  spaced \t\r\ncontent-length: 3',
  'GET /p HTTP/1.1\r\nHOST: x\r\nConnection: close\r\nTE: trailers\r\nKeep-Alive: 5\r\nAccept: */*',
  'DELETE /x HTTP/1.1\r\nHost: x\r\nX-Forwarded-Host: evil\r\nx-forwarded-port: 1\r\nX-Forwarded-Proto: https',
  'GET / HTTP/1.1\r\nHost: x\r\nProxy-Connection: keep-alive\r\nCookie: a=b; c=d\r\nUser-Agent: t\xe9st',
  'GET / HTTP/1.1\r\nHost: x\r\ntraceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\r\nTraceparent: second',
  'PURGE /cache HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: Keep-Alive',
];

const REFUSED = [
  'GET / HTTP/1.0\r\nHost: x',
  'GET / HTTP/1.1\r\nAccept: */*',
  'GET / HTTP/1.1\r\nHost: x\r\nHost: y',
  'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked',
  'POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1',
  'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket',
  'GET / HTTP/1.1\r\nHost: x\nX-Y: z',
  'GET / HTTP/1.1\r\nHost: x\rX-Y: z',
  'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1',
  'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1',
  'GET http://x/ HTTP/1.1\r\nHost: x',
  'GET /a b HTTP/1.1\r\nHost: x',
  'GET / HTTP/1.1\r\nHost: x\r\n: y',
  'GET / HTTP/1.1\r\nHost: x\r\n X-Folded: y',
  'GET / HTTP/1.1\r\nHost: x\r\nX-Bad\x01: y',
  'GET / HTTP/1.1\r\nHost: x\r\nX-Bad: a\x00b',
  'get / HTTP/1.1\r\nHost: x',
  // Valid, but left to the string parser: a client X-Forwarded-For, a Connection list.
  'GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 1.2.3.4',
  'GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, X-Secret\r\nX-Secret: 1',
];

const RESPONSES = [
  'HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 33\r\nDate: Wed, 02 Dec 2026 01:00:00 GMT\r\nConnection: keep-alive\r\nKeep-Alive: timeout=65',
  'HTTP/1.1 404 Not Found\r\nContent-Length: 0',
  'HTTP/1.0 200 OK\r\nContent-Length: 1',
  'HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 1',
  'HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1',
  'HTTP/1.1 500\r\nContent-Length: 3\r\nX-Tab:\tv\t',
  'HTTP/1.1 201 Cr\xe9\xe9\r\nContent-Length: 3\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2',
];

const RESPONSES_REFUSED = [
  'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked',
  'HTTP/1.1 200 OK',
  'HTTP/1.1 204 No Content\r\nContent-Length: 0',
  'HTTP/1.1 103 Early Hints\r\nLink: </a>',
  'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1',
  'HTTP/1.1 200 OK\r\nContent-Length: x',
  'HTTP/1.1 200 OK\r\nKeep-Alive: timeout=5, max=100\r\nContent-Length: 1',
  'HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nX-Secret: 1\r\nContent-Length: 1',
  'HTTP/1.1 2000 OK\r\nContent-Length: 1',
  'HTTP/2 200\r\nContent-Length: 1',
  'HTTP/1.1 200 O\x01K\r\nContent-Length: 1',
];

/** A seeded generator, so a failing mutation can be replayed. */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PIECES = ['\r', '\n', '\r\n', ' ', '\t', ':', '\x00', '\x7f', '\xff', 'A', '-', ',', 'close', '0', '/', ';'];

function mutate(head: string, next: () => number): string {
  let out = head;
  const edits = 1 + Math.floor(next() * 3);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(next() * (out.length + 1));
    const kind = next();
    if (kind < 0.4) out = out.slice(0, at) + PIECES[Math.floor(next() * PIECES.length)]! + out.slice(at);
    else if (kind < 0.7) out = out.slice(0, at) + out.slice(at + 1);
    else if (kind < 0.85) out = out.slice(0, at) + out.charAt(at).toUpperCase() + out.slice(at + 1);
    else {
      const lines = out.split('\r\n');
      const i = Math.floor(next() * lines.length);
      lines.splice(i, 0, lines[Math.floor(next() * lines.length)]!);
      out = lines.join('\r\n');
    }
  }
  return out.replace(/\r\n\r\n/g, '\r\n');
}

describe('fast path heads read from bytes', () => {
  it('reads plain requests as the string parser does', () => {
    for (const head of REQUESTS) expect(sameRequest(head), head).toBe(true);
  });

  it('leaves every other request to the string parser', () => {
    for (const head of REFUSED) expect(sameRequest(head), head).toBe(false);
  });

  it('reads responses framed by Content-Length as the string parser does', () => {
    for (const head of RESPONSES) expect(sameResponse(head), head).toBe(true);
    expect(sameResponse(RESPONSES[0]!, 'HEAD')).toBe(false);
  });

  it('leaves every other response to the string parser', () => {
    for (const head of RESPONSES_REFUSED) expect(sameResponse(head), head).toBe(false);
  });

  it('never takes a mutated head the string parser refuses, nor reads one differently', () => {
    const next = random(20261202);
    let taken = 0;
    for (let n = 0; n < 20_000; n++) {
      if (sameRequest(mutate(REQUESTS[n % REQUESTS.length]!, next))) taken++;
      if (sameResponse(mutate(RESPONSES[n % RESPONSES.length]!, next))) taken++;
    }
    expect(taken).toBeGreaterThan(1000); // the mutations do reach the byte readers' accepting side
  });
});
