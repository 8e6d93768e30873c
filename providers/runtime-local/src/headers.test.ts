import { describe, expect, it } from 'vitest';
import { forwardRequestHead, forwardResponseHeaders } from './headers.ts';

describe('proxy header rewriting', () => {
  it('drops hop-by-hop request headers, keeps framing, and sets the x-forwarded-* headers', () => {
    const head = forwardRequestHead(
      [
        'Host',
        'api.ns.localhost:7080',
        'Connection',
        'keep-alive, X-Secret-Hop',
        'X-Secret-Hop',
        '1',
        'Keep-Alive',
        'timeout=5',
        'TE',
        'trailers',
        'Upgrade',
        'h2c',
        'Proxy-Connection',
        'x',
        'Transfer-Encoding',
        'chunked',
        'X-Forwarded-For',
        '10.0.0.1',
        'X-Forwarded-Host',
        'evil',
        'Cookie',
        'a=1',
        'cookie',
        'b=2',
      ],
      '127.0.0.1',
      '7080',
    );
    expect(head.host).toBe('api.ns.localhost:7080');
    expect(head.hasBody).toBe(true);
    expect(head.headers).toEqual([
      'Host',
      'api.ns.localhost:7080',
      'Transfer-Encoding',
      'chunked',
      'Cookie',
      'a=1',
      'cookie',
      'b=2',
      'x-forwarded-for',
      '10.0.0.1, 127.0.0.1',
      'x-forwarded-proto',
      'http',
      'x-forwarded-port',
      '7080',
      'x-forwarded-host',
      'api.ns.localhost:7080',
    ]);
    expect(forwardRequestHead(['host', 'a.b.localhost', 'content-length', '0'], '::1', '1').hasBody).toBe(false);
    expect(forwardRequestHead(['content-length', '12'], '::1', '1')).toMatchObject({ host: undefined, hasBody: true });
  });

  it('drops hop-by-hop response headers, keeps repeated ones, and names the release', () => {
    expect(
      forwardResponseHeaders(
        [
          'Content-Type',
          'text/plain',
          'Set-Cookie',
          'a=1',
          'Set-Cookie',
          'b=2',
          'Connection',
          'keep-alive',
          'Keep-Alive',
          'timeout=5',
          'Transfer-Encoding',
          'chunked',
        ],
        'svc@v1',
      ),
    ).toEqual(['Content-Type', 'text/plain', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'x-idp-release', 'svc@v1']);
  });
});
