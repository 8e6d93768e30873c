import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diffSnapshots } from './metrics.ts';
import { findFreePort } from './probe.ts';
import { EdgeProxy } from './proxy.ts';
import { ProcessSupervisor } from './supervisor.ts';
import { httpRequest, SERVICE_SOURCE, tempDir, waitFor } from './test-helpers.ts';

interface Backend {
  port: number;
  hits: number;
  lastHeaders: Record<string, string | string[] | undefined>;
  server: Server;
}

/** An in-process backend: answers its name; /status/<n> answers n; /echo streams the body back. */
async function backend(name: string): Promise<Backend> {
  const state = { port: 0, hits: 0, lastHeaders: {} } as Backend;
  state.server = createServer((req, res) => {
    state.hits++;
    state.lastHeaders = req.headers;
    const status = /^\/status\/(\d+)$/.exec(req.url ?? '');
    if (status) {
      res.statusCode = Number(status[1]);
      res.end(name);
      return;
    }
    if (req.url === '/echo') {
      res.setHeader('x-backend', name);
      req.pipe(res);
      return;
    }
    res.setHeader('x-backend', name);
    res.end(name);
  });
  await new Promise<void>((resolve) => state.server.listen(0, '127.0.0.1', resolve));
  const address = state.server.address();
  state.port = typeof address === 'object' && address !== null ? address.port : 0;
  return state;
}

const target = (b: Backend) => ({ host: '127.0.0.1', port: b.port });

describe('EdgeProxy', () => {
  let proxy: EdgeProxy;
  let port: number;
  let v1a: Backend;
  let v1b: Backend;
  let v2: Backend;
  const host = 'payments-api.feature-payments.localhost';

  beforeAll(async () => {
    [v1a, v1b, v2] = await Promise.all([backend('v1a'), backend('v1b'), backend('v2')]);
    proxy = new EdgeProxy({ port: 0 });
    port = await proxy.listen();
  });
  afterAll(async () => {
    await proxy.close();
    for (const b of [v1a, v1b, v2]) b.server.close();
  });

  const get = (path = '/', hostHeader = `${host}:${port}`) => httpRequest(port, hostHeader, path);

  it('routes by Host, forwards x-forwarded-* and marks the release; unknown hosts get PROXY_NO_ROUTE', async () => {
    proxy.setRoute('payments-api', 'feature-payments', { stable: { release: 'pay@v1', targets: [target(v1a)] } });
    const answer = await get('/hello?x=1');
    expect(answer).toMatchObject({ status: 200, body: 'v1a' });
    expect(answer.headers['x-idp-release']).toBe('pay@v1');
    expect(v1a.lastHeaders).toMatchObject({
      host: `${host}:${port}`,
      'x-forwarded-host': `${host}:${port}`,
      'x-forwarded-proto': 'http',
      'x-forwarded-for': '127.0.0.1',
      'x-forwarded-port': String(port),
    });
    expect((await get('/', 'Payments-API.Feature-Payments.LOCALHOST')).body).toBe('v1a');

    for (const unknown of [
      'users-api.feature-payments.localhost',
      'payments-api.staging.localhost',
      'localhost',
      'example.com',
    ]) {
      const missing = await get('/', unknown);
      expect(missing.status).toBe(404);
      expect(JSON.parse(missing.body)).toEqual({
        error: { code: 'PROXY_NO_ROUTE', message: expect.stringContaining(unknown) },
      });
    }
  });

  it('streams request and response bodies', async () => {
    proxy.setRoute('payments-api', 'feature-payments', { stable: { release: 'pay@v1', targets: [target(v1a)] } });
    const big = 'y'.repeat(1024 * 1024);
    const echoed = await httpRequest(port, host, '/echo', {
      method: 'POST',
      body: big,
      headers: { 'content-type': 'text/plain' },
    });
    expect(echoed.status).toBe(200);
    expect(echoed.body.length).toBe(big.length);

    // The first chunk reaches the client while the backend still holds the response open: a
    // buffering proxy would deadlock here.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const streaming = createServer((_req, res) => {
      res.write('first;');
      void held.then(() => res.end('last'));
    });
    await new Promise<void>((resolve) => streaming.listen(0, '127.0.0.1', resolve));
    const streamingPort = (streaming.address() as { port: number }).port;
    proxy.setRoute('stream', 'ns', {
      stable: { release: 'stream@v1', targets: [{ host: '127.0.0.1', port: streamingPort }] },
    });
    const body = await new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/', headers: { host: 'stream.ns.localhost' } }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => {
          text += chunk.toString();
          if (text === 'first;') release();
        });
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
    expect(body).toBe('first;last');
    streaming.close();
  });

  it('splits traffic by weight within tolerance and round-robins over replicas', async () => {
    proxy.setRoute('payments-api', 'feature-payments', {
      stable: { release: 'pay@v1', targets: [target(v1a), target(v1b)] },
      canary: { release: 'pay@v2', targets: [target(v2)], weight: 10 },
    });
    const counts: Record<string, number> = {};
    const answers = [];
    for (let batch = 0; batch < 20; batch++)
      answers.push(...(await Promise.all(Array.from({ length: 50 }, () => get()))));
    for (const answer of answers) counts[answer.body] = (counts[answer.body] ?? 0) + 1;
    expect(answers).toHaveLength(1000);
    expect(counts.v2).toBeGreaterThanOrEqual(90);
    expect(counts.v2).toBeLessThanOrEqual(110);
    expect(Math.abs(counts.v1a! - counts.v1b!)).toBeLessThanOrEqual(2);
    expect(answers.filter((a) => a.body === 'v2').every((a) => a.headers['x-idp-release'] === 'pay@v2')).toBe(true);
  });

  it('applies a weight change to the very next request (rollback moves all traffic at once)', async () => {
    const route = (weight: number) =>
      proxy.setRoute('payments-api', 'feature-payments', {
        stable: { release: 'pay@v1', targets: [target(v1a)] },
        canary: { release: 'pay@v2', targets: [target(v2)], weight },
      });
    route(100);
    expect((await Promise.all(Array.from({ length: 20 }, () => get()))).every((a) => a.body === 'v2')).toBe(true);
    route(0);
    expect((await Promise.all(Array.from({ length: 20 }, () => get()))).every((a) => a.body === 'v1a')).toBe(true);
    route(50);
    const half = await Promise.all(Array.from({ length: 20 }, () => get()));
    expect(half.filter((a) => a.body === 'v2')).toHaveLength(10);
    proxy.setRoute('payments-api', 'feature-payments', { stable: { release: 'pay@v1', targets: [target(v1a)] } });
    expect((await Promise.all(Array.from({ length: 20 }, () => get()))).every((a) => a.body === 'v1a')).toBe(true);
    expect(proxy.getRoute('payments-api', 'feature-payments')).toEqual({
      stable: { release: 'pay@v1', targets: [target(v1a)] },
    });
  });

  it('counts requests, 5xx and 502s per release, with latency, as windows between snapshots', async () => {
    const deadPort = await findFreePort();
    proxy.setRoute('errors', 'ns', {
      stable: { release: 'err@v1', targets: [target(v1a)] },
      canary: { release: 'err@v2', targets: [{ host: '127.0.0.1', port: deadPort }], weight: 50 },
    });
    const before = proxy.snapshot('err@v2');
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) => httpRequest(port, 'errors.ns.localhost', i % 4 === 0 ? '/status/500' : '/')),
    );
    const bad = answers.filter((a) => a.status === 502);
    expect(bad).toHaveLength(20);
    expect(JSON.parse(bad[0]!.body).error.code).toBe('PROXY_BAD_GATEWAY');
    expect(bad[0]!.headers['x-idp-release']).toBe('err@v2');
    const canary = diffSnapshots(before, proxy.snapshot('err@v2'));
    expect(canary).toMatchObject({ requests: 20, errors: 20, proxyErrors: 20, errorRate: 1 });

    const stable = proxy.metrics('err@v1');
    expect(stable.requests).toBe(20);
    expect(stable.errors).toBe(answers.filter((a) => a.status === 500).length);
    expect(stable.errors).toBeGreaterThan(0);
    expect(stable.proxyErrors).toBe(0);
    expect(stable.p50Ms).toBeGreaterThan(0);
    expect(stable.p99Ms).toBeGreaterThanOrEqual(stable.p50Ms);
    expect(proxy.metrics('never-routed')).toMatchObject({ requests: 0, errors: 0, errorRate: 0 });
  });

  it('falls back to the other release when one has no healthy replica, and answers 503 when none has', async () => {
    proxy.setRoute('health', 'ns', {
      stable: { release: 'h@v1', targets: [target(v1a)] },
      canary: { release: 'h@v2', targets: [target(v2)], weight: 100 },
    });
    expect((await httpRequest(port, 'health.ns.localhost')).body).toBe('v2');
    proxy.setTargetHealth('h@v2', target(v2), false);
    expect((await httpRequest(port, 'health.ns.localhost')).body).toBe('v1a');
    proxy.setTargetHealth('h@v1', target(v1a), false);
    const none = await httpRequest(port, 'health.ns.localhost');
    expect(none.status).toBe(503);
    expect(JSON.parse(none.body).error.code).toBe('PROXY_NO_HEALTHY_TARGET');
    proxy.setTargetHealth('h@v2', target(v2), true);
    expect((await httpRequest(port, 'health.ns.localhost')).body).toBe('v2');
    expect(proxy.removeRoute('health', 'ns')).toBe(true);
    expect((await httpRequest(port, 'health.ns.localhost')).status).toBe(404);
  });

  it('tunnels protocol upgrades (WebSocket-style) to the chosen release', async () => {
    const upgradable = createServer((_req, res) => res.end('plain'));
    upgradable.on('upgrade', (req, socket) => {
      socket.write(
        `HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\nX-Seen-Forwarded-For: ${req.headers['x-forwarded-for']}\r\n\r\n`,
      );
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => upgradable.listen(0, '127.0.0.1', resolve));
    proxy.setRoute('ws', 'ns', {
      stable: {
        release: 'ws@v1',
        targets: [{ host: '127.0.0.1', port: (upgradable.address() as { port: number }).port }],
      },
    });
    const echoed = await new Promise<{ headers: Record<string, unknown>; data: string }>((resolve, reject) => {
      const req = request({
        host: '127.0.0.1',
        port,
        path: '/socket',
        headers: { host: 'ws.ns.localhost', connection: 'Upgrade', upgrade: 'echo' },
      });
      req.on('upgrade', (res, socket) => {
        socket.once('data', (data: Buffer) => {
          socket.destroy();
          resolve({ headers: res.headers, data: data.toString() });
        });
        socket.write('ping');
      });
      req.on('error', reject);
      req.end();
    });
    expect(echoed.data).toBe('ping');
    expect(echoed.headers).toMatchObject({ 'x-idp-release': 'ws@v1', 'x-seen-forwarded-for': '127.0.0.1' });
    upgradable.closeAllConnections();
    upgradable.close();
  });

  it('answers 504 when a backend does not start answering in time, and counts it', async () => {
    const silent = createServer(() => {
      /* never answers */
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const impatient = new EdgeProxy({ port: 0, upstreamTimeoutMs: 100 });
    const impatientPort = await impatient.listen();
    try {
      impatient.setRoute('slow', 'ns', {
        stable: {
          release: 'slow@v1',
          targets: [{ host: '127.0.0.1', port: (silent.address() as { port: number }).port }],
        },
      });
      const answer = await httpRequest(impatientPort, 'slow.ns.localhost');
      expect(answer.status).toBe(504);
      expect(JSON.parse(answer.body).error.code).toBe('PROXY_UPSTREAM_TIMEOUT');
      expect(impatient.metrics('slow@v1')).toMatchObject({ requests: 1, errors: 1, proxyErrors: 1 });
    } finally {
      await impatient.close();
      silent.closeAllConnections();
      silent.close();
    }
  });

  it('proxies to replicas the supervisor runs (real processes, stable + canary)', async () => {
    const tmp = tempDir();
    tmp.write('server.cjs', SERVICE_SOURCE);
    const supervisor = new ProcessSupervisor({ stopGraceMs: 2000 });
    try {
      const spec = (version: string, replicas: number) => ({
        release: `users@${version}`,
        command: 'node server.cjs',
        cwd: tmp.dir,
        env: { VERSION: version },
        replicas,
        logDir: join(tmp.dir, version),
        healthPath: '/health',
      });
      const [stable, canary] = await Promise.all([supervisor.start(spec('v1', 2)), supervisor.start(spec('v2', 1))]);
      await Promise.all([stable.waitReady(10_000), canary.waitReady(10_000)]);
      proxy.setRoute('users-api', 'staging', {
        stable: { release: 'users@v1', targets: stable.targets() },
        canary: { release: 'users@v2', targets: canary.targets(), weight: 25 },
      });
      const answers = await Promise.all(
        Array.from({ length: 40 }, () => httpRequest(port, 'users-api.staging.localhost')),
      );
      const versions = answers.map((a) => JSON.parse(a.body).version as string);
      expect(versions.filter((v) => v === 'v2')).toHaveLength(10);
      expect(
        new Set(answers.filter((a) => a.headers['x-idp-release'] === 'users@v1').map((a) => JSON.parse(a.body).port))
          .size,
      ).toBe(2);
      await supervisor.stop('users@v2');
      // The canary is gone: its requests now fail with 502 until the control plane moves the weight.
      const failed = await waitFor(
        'a 502',
        async () => (await httpRequest(port, 'users-api.staging.localhost')).status === 502 || undefined,
        5000,
        0,
      );
      expect(failed).toBe(true);
    } finally {
      await supervisor.stopAll();
      tmp.remove();
    }
  });
});
