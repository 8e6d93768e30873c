import { describe, expect, it } from 'vitest';
import { ChunkedScanner, parseRequestHead, parseResponseHead } from './fast-head.ts';

describe('fast path heads', () => {
  it('takes a plain HTTP/1.1 request and keeps header spelling and order', () => {
    expect(
      parseRequestHead('POST /a?b=1 HTTP/1.1\r\nHost: x.localhost\r\nX-Two:  spaced \t\r\ncontent-length: 3'),
    ).toEqual({
      method: 'POST',
      url: '/a?b=1',
      raw: ['Host', 'x.localhost', 'X-Two', 'spaced', 'content-length', '3'],
      contentLength: 3,
      close: false,
    });
    expect(parseRequestHead('GET / HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive, close')?.close).toBe(true);
  });

  it.each([
    ['HTTP/1.0', 'GET / HTTP/1.0\r\nHost: x'],
    ['no Host', 'GET / HTTP/1.1\r\nAccept: */*'],
    ['two Hosts', 'GET / HTTP/1.1\r\nHost: x\r\nHost: y'],
    ['chunked body', 'POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked'],
    ['Expect', 'POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 1'],
    ['upgrade', 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket'],
    ['a bare LF', 'GET / HTTP/1.1\r\nHost: x\nX-Y: z'],
    ['a CR in a value', 'GET / HTTP/1.1\r\nHost: x\rX-Y: z'],
    ['a signed length', 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1'],
    ['an absolute target', 'GET http://x/ HTTP/1.1\r\nHost: x'],
    ['a space in the target', 'GET /a b HTTP/1.1\r\nHost: x'],
    ['an empty header name', 'GET / HTTP/1.1\r\nHost: x\r\n: y'],
  ])('leaves a request with %s to node', (_name, head) => {
    expect(parseRequestHead(head)).toBeUndefined();
  });

  it('reads how a response body ends', () => {
    const framing = (head: string, method = 'GET') => {
      const parsed = parseResponseHead(head, method);
      return typeof parsed === 'string' ? parsed : [parsed.framing, parsed.length, parsed.close];
    };
    expect(framing('HTTP/1.1 200 OK\r\nContent-Length: 12')).toEqual(['length', 12, false]);
    expect(framing('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked')).toEqual(['chunked', 0, false]);
    expect(framing('HTTP/1.1 200 OK')).toEqual(['close', 0, true]);
    expect(framing('HTTP/1.1 200 OK\r\nContent-Length: 12', 'HEAD')).toEqual(['none', 12, false]);
    expect(framing('HTTP/1.1 204 No Content')).toEqual(['none', 0, false]);
    expect(framing('HTTP/1.0 200 OK\r\nContent-Length: 1')).toEqual(['length', 1, true]);
    expect(framing('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 1')).toEqual(['length', 1, true]);
    expect(framing('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked')).toMatch(/both/);
    expect(framing('HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2')).toMatch(/content-length/);
    expect(framing('HTTP/2 200')).toMatch(/status line/);
  });

  it('finds the end of a chunked body whatever the reads, and refuses broken framing', () => {
    const body = '4;ext=1\r\nWiki\r\n10\r\n0123456789abcdef\r\n0\r\nTrailer: yes\r\n\r\n';
    const scanner = new ChunkedScanner();
    for (let i = 0; i < body.length; i++) {
      expect(scanner.done).toBe(false);
      expect(scanner.scan(Buffer.from(body[i]!))).toBe(1);
    }
    expect(scanner.done).toBe(true);
    const whole = new ChunkedScanner();
    expect(whole.scan(Buffer.from(`${body}GET /next`))).toBe(body.length);
    expect(new ChunkedScanner().scan(Buffer.from('zz\r\n'))).toBe(-1);
    expect(new ChunkedScanner().scan(Buffer.from('2\r\nabX\r\n'))).toBe(-1);
  });
});
