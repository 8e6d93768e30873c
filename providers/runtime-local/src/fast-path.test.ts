// The edge proxy's fast path, byte for byte over raw sockets: pipelining, keep-alive, framing of
// bodies both ways, what it hands to node's HTTP server, and a backend that misbehaves.
import { createServer, type Server } from 'node:http';
import { connect, createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeProxy } from './proxy.ts';

const HOST = 'fast.ns.localhost';

/** Writes `pieces` (each its own write, in turn) and collects the answer until `done` says so or the socket closes. */
function raw(
  port: number,
  pieces: string[],
  done: (text: string) => boolean = () => false,
): Promise<{ text: string; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    let finished = false;
    const finish = (closed: boolean) => {
      if (finished) return;
      finished = true;
      socket.destroy();
      resolve({ text, closed });
    };
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (done(text)) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', reject);
    socket.on('connect', async () => {
      for (const piece of pieces) {
        await new Promise<void>((written) => socket.write(piece, 'latin1', () => written()));
        await new Promise((next) => setImmediate(next));
      }
    });
  });
}

const count = (text: string, needle: string) => text.split(needle).length - 1;

describe('EdgeProxy fast path', () => {
  let backend: Server;
  let broken: TcpServer;
  let proxy: EdgeProxy;
  let port: number;
  let backendConnections = 0;
  const seen: string[] = [];

  beforeAll(async () => {
    backend = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      if (req.url === '/chunked') {
        res.write('alpha-');
        res.write('beta-');
        res.end('gamma');
        return;
      }
      if (req.url === '/empty') {
        res.statusCode = 204;
        res.end();
        return;
      }
      if (req.url === '/echo') {
        res.setHeader('x-length', String(req.headers['content-length'] ?? 'none'));
        req.pipe(res);
        return;
      }
      res.setHeader('content-type', 'text/plain');
      res.end(`hello ${req.url}`);
    });
    backend.on('connection', () => backendConnections++);
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    // A replica that answers garbage on /garbage and dies half-way through its body otherwise.
    broken = createTcpServer((socket) => {
      socket.once('data', (chunk: Buffer) => {
        if (chunk.toString('latin1').startsWith('GET /garbage'))
          socket.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\nhello');
        else socket.end('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly part');
      });
    });
    await new Promise<void>((r) => broken.listen(0, '127.0.0.1', r));
    proxy = new EdgeProxy({ port: 0 });
    port = await proxy.listen();
    const address = (s: Server | TcpServer) => (s.address() as { port: number }).port;
    proxy.setRoute('fast', 'ns', {
      stable: { release: 'fast@v1', targets: [{ host: '127.0.0.1', port: address(backend) }] },
    });
    proxy.setRoute('broken', 'ns', {
      stable: { release: 'broken@v1', targets: [{ host: '127.0.0.1', port: address(broken) }] },
    });
  });
  afterAll(async () => {
    await proxy.close();
    backend.closeAllConnections();
    backend.close();
    broken.close();
  });

  it('answers pipelined requests in order on one connection, reusing the replica connection', async () => {
    const before = backendConnections;
    const request = (path: string) => `GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
    const { text } = await raw(port, [request('/a') + request('/b') + request('/c'), request('/d')], (t) =>
      t.includes('hello /d'),
    );
    expect(count(text, 'HTTP/1.1 200 OK')).toBe(4);
    expect(text.indexOf('hello /a')).toBeLessThan(text.indexOf('hello /b'));
    expect(text.indexOf('hello /b')).toBeLessThan(text.indexOf('hello /c'));
    expect(count(text, 'x-idp-release: fast@v1')).toBe(4);
    expect(count(text, 'keep-alive: timeout=65\r\n')).toBe(4); // the fast path's spelling (node's is Keep-Alive)
    expect(backendConnections - before).toBe(1);
  });

  it('relays a chunked answer with its framing, then serves the next request on the connection', async () => {
    const request = (path: string) => `GET ${path} HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
    const { text, closed } = await raw(port, [request('/chunked'), request('/after')], (t) =>
      t.includes('hello /after'),
    );
    expect(closed).toBe(false);
    expect(text).toMatch(/transfer-encoding: chunked\r\n/i);
    const body = text.slice(text.indexOf('\r\n\r\n') + 4, text.indexOf('HTTP/1.1', 10));
    expect(body).toBe('6\r\nalpha-\r\n5\r\nbeta-\r\n5\r\ngamma\r\n0\r\n\r\n');
  });

  it('forwards a body that arrives in pieces, and answers HEAD and 204 without a body', async () => {
    const { text } = await raw(
      port,
      [
        `POST /echo HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 11\r\n\r\nhello`,
        ' world',
        `HEAD /x HTTP/1.1\r\nHost: ${HOST}\r\n\r\nGET /empty HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
        `GET /last HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`,
      ],
      (t) => t.includes('hello /last'),
    );
    expect(text).toContain('x-length: 11');
    expect(text).toContain('hello world');
    expect(text).toContain('HTTP/1.1 204 No Content');
    expect(count(text, 'HTTP/1.1 ')).toBe(4);
    expect(seen).toContain('HEAD /x');
  });

  it('closes after an answer to Connection: close', async () => {
    const { text, closed } = await raw(port, [`GET /bye HTTP/1.1\r\nHost: ${HOST}\r\nConnection: close\r\n\r\n`]);
    expect(closed).toBe(true);
    expect(text).toContain('connection: close');
    expect(text).toContain('hello /bye');
  });

  it('hands HTTP/1.0 and chunked requests to node’s server, which answers them as before', async () => {
    const old = await raw(port, [`GET /old HTTP/1.0\r\nHost: ${HOST}\r\n\r\n`]);
    expect(old.text).toMatch(/^HTTP\/1\.[01] 200 OK/);
    expect(old.text).toContain('hello /old');
    const chunked = await raw(
      port,
      [`POST /echo HTTP/1.1\r\nHost: ${HOST}\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n`, '0\r\n\r\n'],
      (t) => t.includes('abc') && t.endsWith('\r\n\r\n'),
    );
    expect(chunked.text).toMatch(/^HTTP\/1\.1 200 OK/);
    expect(chunked.text).toContain('abc');
    expect(chunked.text).toContain('x-idp-release: fast@v1');
  });

  it('closes after answering an unrouted request whose body it did not read, forwarding none of it', async () => {
    const before = seen.length;
    const hidden = `GET /hidden HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`;
    const { text, closed } = await raw(port, [
      // The body is longer than what is sent, so it is never complete, however the pieces arrive.
      `POST / HTTP/1.1\r\nHost: nothing.ns.localhost\r\nContent-Length: ${hidden.length + 100}\r\n\r\n`,
      hidden,
    ]);
    expect(closed).toBe(true);
    expect(text).toMatch(/^HTTP\/1\.1 404 Not Found/);
    expect(text).toContain('connection: close');
    expect(seen.slice(before)).toEqual([]);
  });

  it('answers PROXY_NO_ROUTE itself and keeps the connection', async () => {
    const { text } = await raw(
      port,
      [`GET / HTTP/1.1\r\nHost: nothing.ns.localhost\r\n\r\nGET /next HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`],
      (t) => t.includes('hello /next'),
    );
    expect(text).toMatch(/^HTTP\/1\.1 404 Not Found/);
    expect(text).toContain('"code":"PROXY_NO_ROUTE"');
  });

  it('answers 502 to a malformed answer and cuts an answer the replica abandons, counting both', async () => {
    const before = proxy.metrics('broken@v1');
    const garbage = await raw(port, [`GET /garbage HTTP/1.1\r\nHost: broken.ns.localhost\r\n\r\n`], (t) =>
      t.includes('}}'),
    );
    expect(garbage.text).toMatch(/^HTTP\/1\.1 502 Bad Gateway/);
    expect(garbage.text).toContain('"code":"PROXY_BAD_GATEWAY"');
    const cut = await raw(port, [`GET /cut HTTP/1.1\r\nHost: broken.ns.localhost\r\n\r\n`]);
    expect(cut.closed).toBe(true);
    expect(cut.text).toContain('only part');
    const after = proxy.metrics('broken@v1');
    expect(after.requests - before.requests).toBe(2);
    expect(after.proxyErrors - before.proxyErrors).toBe(2);
  });

  it('does not reuse a replica connection the replica is about to close (its Keep-Alive timeout)', async () => {
    // Node answers `Keep-Alive: timeout=1` with a 1 s keep-alive timeout: reusing such a connection
    // a second later would race its close, so the proxy opens a new one.
    let connections = 0;
    const hasty = createServer((_req, res) => res.end('hasty'));
    hasty.keepAliveTimeout = 1000;
    hasty.on('connection', () => connections++);
    await new Promise<void>((r) => hasty.listen(0, '127.0.0.1', r));
    try {
      proxy.setRoute('hasty', 'ns', {
        stable: {
          release: 'hasty@v1',
          targets: [{ host: '127.0.0.1', port: (hasty.address() as { port: number }).port }],
        },
      });
      const request = `GET / HTTP/1.1\r\nHost: hasty.ns.localhost\r\n\r\n`;
      const { text } = await raw(
        port,
        [request, request],
        (t) => count(t, 'HTTP/1.1 200 OK') === 2 && t.endsWith('hasty'),
      );
      expect(count(text, 'HTTP/1.1 200 OK')).toBe(2);
      expect(connections).toBe(2);
    } finally {
      proxy.removeRoute('hasty', 'ns');
      hasty.closeAllConnections();
      hasty.close();
    }
  });

  it('closes a kept-alive connection that stays idle past the keep-alive timeout', async () => {
    const brief = new EdgeProxy({ port: 0, keepAliveTimeoutMs: 300 });
    const briefPort = await brief.listen();
    try {
      brief.setRoute('fast', 'ns', {
        stable: {
          release: 'fast@v1',
          targets: [{ host: '127.0.0.1', port: (backend.address() as { port: number }).port }],
        },
      });
      const { text, closed } = await raw(briefPort, [`GET /idle HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`]);
      expect(text).toContain('hello /idle');
      expect(text).toContain('keep-alive: timeout=0');
      expect(closed).toBe(true);
    } finally {
      await brief.close();
    }
  });

  it('with fastPath false, node’s server answers every request', async () => {
    const plain = new EdgeProxy({ port: 0, fastPath: false });
    const plainPort = await plain.listen();
    try {
      plain.setRoute('fast', 'ns', {
        stable: {
          release: 'fast@v1',
          targets: [{ host: '127.0.0.1', port: (backend.address() as { port: number }).port }],
        },
      });
      const { text } = await raw(plainPort, [`GET /plain HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`], (t) =>
        t.includes('hello /plain'),
      );
      expect(text).toMatch(/^HTTP\/1\.1 200 OK/);
      expect(text).toContain('x-idp-release: fast@v1');
    } finally {
      await plain.close();
    }
  });
});
