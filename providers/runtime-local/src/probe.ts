// Small network probes shared by the supervisor (readiness) and the health checker.
import { request } from 'node:http';
import { connect, createServer } from 'node:net';

export interface ProbeResult {
  ok: boolean;
  /** HTTP status, when an HTTP probe got an answer. */
  status?: number;
  /** Why the probe failed: a socket error code, `timeout`, or `status <n>`. */
  error?: string;
  latencyMs: number;
}

/** True when something accepts TCP connections on host:port within timeoutMs. */
export function probeTcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    let settled = false;
    const done = (ok: boolean, error?: string) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(
        error === undefined
          ? { ok, latencyMs: performance.now() - started }
          : { ok, error, latencyMs: performance.now() - started },
      );
    };
    const timer = setTimeout(() => done(false, 'timeout'), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', (err: NodeJS.ErrnoException) => done(false, err.code ?? err.message));
  });
}

/**
 * GET path on host:port on a fresh connection (no keep-alive: a probe must see whether the
 * service accepts new connections) and report ok for a 2xx answer within timeoutMs.
 */
export function probeHttp(host: string, port: number, path: string, timeoutMs: number): Promise<ProbeResult> {
  const started = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const done = (result: Omit<ProbeResult, 'latencyMs'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      resolve({ ...result, latencyMs: performance.now() - started });
    };
    const req = request(
      { host, port, path, method: 'GET', agent: false, headers: { 'user-agent': 'idp-health', connection: 'close' } },
      (res) => {
        const status = res.statusCode ?? 0;
        res.resume();
        const ok = status >= 200 && status < 300;
        done(ok ? { ok, status } : { ok, status, error: `status ${status}` });
      },
    );
    const timer = setTimeout(() => done({ ok: false, error: 'timeout' }), timeoutMs);
    req.once('error', (err: NodeJS.ErrnoException) => done({ ok: false, error: err.code ?? err.message }));
    req.end();
  });
}

/**
 * A TCP port nobody listens on right now, chosen by the kernel. Listening on the unspecified
 * address checks IPv4 and IPv6 at once. Another process may take it before the replica binds
 * it; the replica then exits and the supervisor restarts it on a fresh port.
 */
export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port assigned'))));
    });
  });
}

/** True when nothing listens on port (all addresses). */
export function isPortFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, () => server.close(() => resolve(true)));
  });
}
