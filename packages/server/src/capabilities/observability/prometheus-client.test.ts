import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { prometheusRequest } from './prometheus-client.ts';

// The query gate's client on real local HTTP servers standing in for Prometheus (the real one is
// in test/e2e/observability-prometheus.test.ts): connections kept alive, one more try when a kept
// connection turns out closed, the timeout, and the body passed on byte for byte.

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  server = createServer(handler);
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('prometheusRequest', () => {
  it('posts the form and keeps one connection for consecutive requests', async () => {
    const forms: string[] = [];
    const url = await serve((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        forms.push(`${req.method} ${req.headers['content-type']} ${body}`);
        res.setHeader('content-type', 'application/json');
        res.end('{"status":"success","data":[]}');
      });
    });
    let connections = 0;
    server!.on('connection', () => connections++);
    for (let i = 0; i < 5; i++) {
      const answer = await prometheusRequest(`${url}/api/v1/query`, { timeoutMs: 5000, form: `query=up${i}` });
      expect(answer).toMatchObject({ status: 200, json: true });
      expect(answer.body.toString()).toBe('{"status":"success","data":[]}');
    }
    expect(forms).toEqual([0, 1, 2, 3, 4].map((i) => `POST application/x-www-form-urlencoded query=up${i}`));
    expect(connections).toBe(1);
  });

  it('tries once more on a new connection when a kept-alive one was closed under it', async () => {
    const served = new WeakMap<Socket, number>();
    const url = await serve((req, res) => {
      const count = (served.get(req.socket) ?? 0) + 1;
      served.set(req.socket, count);
      // The second request on a connection finds it gone, as when Prometheus closed an idle one.
      if (count === 2) return req.socket.destroy();
      res.setHeader('content-type', 'application/json');
      res.end('{"status":"success"}');
    });
    expect((await prometheusRequest(`${url}/api/v1/labels`, { timeoutMs: 5000 })).status).toBe(200);
    expect((await prometheusRequest(`${url}/api/v1/labels`, { timeoutMs: 5000 })).status).toBe(200);
  });

  it('gives up after the timeout when Prometheus does not answer', async () => {
    const url = await serve(() => {
      /* never answers */
    });
    const started = Date.now();
    await expect(prometheusRequest(`${url}/api/v1/query`, { timeoutMs: 200, form: 'query=up' })).rejects.toThrow(
      /in time/,
    );
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('does not try again when a kept-alive connection merely timed out (the query may be running)', async () => {
    let requests = 0;
    const url = await serve((_req, res) => {
      // The first request is answered; the next ones never are.
      if (++requests > 1) return;
      res.setHeader('content-type', 'application/json');
      res.end('{"status":"success"}');
    });
    expect((await prometheusRequest(`${url}/api/v1/labels`, { timeoutMs: 5000 })).status).toBe(200);
    await expect(prometheusRequest(`${url}/api/v1/labels`, { timeoutMs: 200 })).rejects.toThrow(/in time/);
    expect(requests).toBe(2);
  });

  it('passes the body on byte for byte across chunks, and says whether it is JSON', async () => {
    const text = `{"status":"success","data":["${'é€😀'.repeat(20_000)}"]}`;
    const bytes = Buffer.from(text);
    const url = await serve((req, res) => {
      res.setHeader('content-type', req.url?.includes('html') ? 'text/html' : 'application/json');
      // Split inside a multi-byte character.
      res.write(bytes.subarray(0, 1001));
      res.end(bytes.subarray(1001));
    });
    const answer = await prometheusRequest(`${url}/api/v1/query`, { timeoutMs: 5000, form: 'query=up' });
    expect(answer.json).toBe(true);
    expect(answer.body.equals(bytes)).toBe(true);
    expect((await prometheusRequest(`${url}/html`, { timeoutMs: 5000 })).json).toBe(false);
  });
});
