import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeProxy } from '../../providers/runtime-local/src/proxy.ts';

// The edge proxy parses request heads itself on its fast path. A parser that reads a request's
// framing differently from the replica behind it lets a client hide a second request inside the
// first one's body (request smuggling), which then reaches the replica without the proxy's routing,
// counting or forwarded headers. Heads the fast path does not fully understand (both
// Content-Length and Transfer-Encoding, two Content-Lengths, whitespace before a colon, folded
// lines) must not be forwarded by it; node's HTTP server then refuses them with a 400, and the
// replica never sees the hidden request.

const HOST = 'victim.ns.localhost';

function send(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(bytes, 'latin1'));
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('close', () => resolve(text));
    socket.on('error', reject);
  });
}

describe('edge proxy request framing', () => {
  let backend: Server;
  let proxy: EdgeProxy;
  let port: number;
  const seen: string[] = [];

  beforeAll(async () => {
    backend = createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      req.resume();
      req.on('end', () => res.end('ok'));
    });
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    proxy = new EdgeProxy({ port: 0 });
    port = await proxy.listen();
    proxy.setRoute('victim', 'ns', {
      stable: {
        release: 'victim@v1',
        targets: [{ host: '127.0.0.1', port: (backend.address() as { port: number }).port }],
      },
    });
  });
  afterAll(async () => {
    await proxy.close();
    backend.closeAllConnections();
    backend.close();
  });

  const smuggled = 'GET /smuggled HTTP/1.1\r\nHost: victim.ns.localhost\r\n\r\n';
  const cases: Array<[string, string]> = [
    [
      'Content-Length with Transfer-Encoding',
      `POST /front HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n0\r\n\r\n${smuggled}`,
    ],
    [
      'two Content-Lengths',
      `POST /front HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 0\r\nContent-Length: ${smuggled.length}\r\nConnection: close\r\n\r\n${smuggled}`,
    ],
    [
      'whitespace before the colon',
      `POST /front HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length : ${smuggled.length}\r\nConnection: close\r\n\r\n${smuggled}`,
    ],
    [
      'a folded Content-Length',
      `POST /front HTTP/1.1\r\nHost: ${HOST}\r\nContent-Length: 0\r\n ${smuggled.length}\r\nConnection: close\r\n\r\n${smuggled}`,
    ],
  ];

  it.each(cases)('refuses a request with %s and forwards nothing hidden in it', async (_name, bytes) => {
    const before = seen.length;
    const answer = await send(port, bytes);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    expect(seen.slice(before)).not.toContain('GET /smuggled');
  });
});
