// Edge proxy: one HTTP port for every service of the local runtime.
//
// `Host: <service>.<namespace>.localhost[:port]` selects a route; a route sends each request to
// its stable release or, by weight, to its canary, and round-robins over that release's healthy
// replicas. Bodies stream both ways; backend connections are kept alive. The proxy counts, per
// release, requests, 5xx answers and latency, which the canary engine reads as windows
// (`snapshot` + `diffSnapshots`). It sits on every request's path, so the request path avoids
// work it does not need: no logging, no per-request parsing beyond the Host header (cached), no
// buffering.
import {
  Agent,
  createServer,
  request,
  type ClientRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { Duplex } from 'node:stream';
import { forwardRequestHead, forwardResponseHeaders, type ForwardedRequestHead } from './headers.ts';
import { diffSnapshots, emptySnapshot, ReleaseStats, type MetricsSnapshot, type ReleaseMetrics } from './metrics.ts';

export interface ProxyTarget {
  host: string;
  port: number;
  /** False takes the replica out of rotation (e.g. after failed health checks). Default true. */
  healthy?: boolean;
}

export interface BackendSpec {
  /** Release key; metrics are kept per release key across route changes. */
  release: string;
  targets: ProxyTarget[];
}

export interface CanarySpec extends BackendSpec {
  /** Share of requests for the canary, 0..100. */
  weight: number;
}

export interface RouteSpec {
  stable: BackendSpec;
  canary?: CanarySpec;
}

export interface EdgeProxyOptions {
  /** IDP_PROXY_PORT (7080 by default in the control plane); 0 picks a free port. */
  port: number;
  /** Interface to listen on. Default 127.0.0.1: `*.localhost` resolves there. */
  host?: string;
  /** Host suffix routes live under. Default `localhost`. */
  domain?: string;
  /** A backend that has not started its answer after this long gets a 504. 0 disables. Default 60 s. */
  upstreamTimeoutMs?: number;
  /** Idle keep-alive connections from clients are closed after this. Default 65 s. */
  keepAliveTimeoutMs?: number;
}

interface Backend {
  release: string;
  targets: ProxyTarget[];
  healthy: ProxyTarget[];
  next: number;
  stats: ReleaseStats;
}

interface Route {
  service: string;
  namespace: string;
  stable: Backend;
  canary: Backend | undefined;
  weight: number;
  /** Smooth weighted split: add the weight per request, serve the canary at each 100 crossed. */
  credit: number;
}

const HOST_CACHE_LIMIT = 10_000;

function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

/** An answer the proxy makes itself, in the API's error envelope. */
function replyError(
  res: ServerResponse,
  release: string | undefined,
  status: number,
  code: string,
  message: string,
): void {
  const body = errorBody(code, message);
  const headers: OutgoingHttpHeaders = {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(body),
  };
  if (release !== undefined) headers['x-idp-release'] = release;
  res.writeHead(status, headers);
  res.end(body);
}

function makeBackend(spec: BackendSpec, stats: ReleaseStats): Backend {
  const targets = spec.targets.map((target) => ({ ...target }));
  return {
    release: spec.release,
    targets,
    healthy: targets.filter((target) => target.healthy !== false),
    next: 0,
    stats,
  };
}

export class EdgeProxy {
  private readonly routes = new Map<string, Route>();
  /** Raw Host header → route, so a request costs one map lookup to route. */
  private readonly hostCache = new Map<string, Route>();
  private readonly stats = new Map<string, ReleaseStats>();
  private readonly agent = new Agent({ keepAlive: true, scheduling: 'lifo', maxFreeSockets: 1024 });
  private readonly server: Server;
  private readonly suffix: string;
  private forwardedPort = '';
  private readonly upstreamConfig: UpstreamConfig;
  private readonly upstreamTimeoutMs: number;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private noRoute = 0;

  constructor(private readonly options: EdgeProxyOptions) {
    this.suffix = `.${(options.domain ?? 'localhost').toLowerCase()}`;
    this.upstreamConfig = { agent: this.agent, waiting: new Set() };
    this.upstreamTimeoutMs = options.upstreamTimeoutMs ?? 60_000;
    this.server = createServer((req, res) => this.handle(req, res));
    // Longer than Node's 5 s default, so clients that pool connections rarely race the close.
    this.server.keepAliveTimeout = options.keepAliveTimeoutMs ?? 65_000;
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) =>
      this.handleUpgrade(req, socket, head),
    );
    // A client that sends garbage gets a 400 and is dropped, without an 'error' on the server.
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy();
    });
  }

  /** Start listening; resolves with the bound port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        const port = this.port;
        this.forwardedPort = String(port);
        if (this.upstreamTimeoutMs > 0) {
          // One coarse sweep instead of a timer per request: the deadline is for the backend to
          // start answering; a long streaming answer is not cut.
          this.sweeper = setInterval(
            () => this.sweepWaiting(),
            Math.min(1000, Math.max(10, this.upstreamTimeoutMs / 4)),
          );
          this.sweeper.unref();
        }
        resolve(port);
      });
    });
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  private sweepWaiting(): void {
    const deadline = performance.now() - this.upstreamTimeoutMs;
    for (const exchange of this.upstreamConfig.waiting) exchange.expireIfStartedBefore(deadline);
  }

  /** Stop accepting, drop open connections and backend sockets. */
  close(): Promise<void> {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      this.agent.destroy();
    });
  }

  private statsFor(release: string): ReleaseStats {
    let stats = this.stats.get(release);
    if (stats === undefined) {
      stats = new ReleaseStats(release);
      this.stats.set(release, stats);
    }
    return stats;
  }

  /**
   * Create or replace the route of service.namespace. Takes effect for the next request: a
   * rollback (`setRoute` without canary, or weight 0) moves all traffic to stable at once.
   */
  setRoute(service: string, namespace: string, spec: RouteSpec): void {
    const weight = spec.canary === undefined ? 0 : spec.canary.weight;
    if (!(weight >= 0 && weight <= 100)) throw new RangeError(`canary weight must be within 0..100, got ${weight}`);
    const key = `${service.toLowerCase()}.${namespace.toLowerCase()}`;
    const stable = makeBackend(spec.stable, this.statsFor(spec.stable.release));
    const canary = spec.canary === undefined ? undefined : makeBackend(spec.canary, this.statsFor(spec.canary.release));
    const existing = this.routes.get(key);
    if (existing !== undefined) {
      // Update in place: the host cache and requests being routed keep pointing at this object.
      existing.stable = stable;
      existing.canary = canary;
      if (existing.weight !== weight) existing.credit = 0;
      existing.weight = weight;
      return;
    }
    this.routes.set(key, { service, namespace, stable, canary, weight, credit: 0 });
  }

  removeRoute(service: string, namespace: string): boolean {
    const removed = this.routes.delete(`${service.toLowerCase()}.${namespace.toLowerCase()}`);
    if (removed) this.hostCache.clear();
    return removed;
  }

  getRoute(service: string, namespace: string): RouteSpec | undefined {
    const route = this.routes.get(`${service.toLowerCase()}.${namespace.toLowerCase()}`);
    if (route === undefined) return undefined;
    const copy = (backend: Backend): BackendSpec => ({
      release: backend.release,
      targets: backend.targets.map((target) => ({ ...target })),
    });
    const spec: RouteSpec = { stable: copy(route.stable) };
    if (route.canary !== undefined) spec.canary = { ...copy(route.canary), weight: route.weight };
    return spec;
  }

  /** Take a replica of a release out of rotation (or back in) on every route that uses it. */
  setTargetHealth(release: string, target: { host: string; port: number }, healthy: boolean): void {
    for (const route of this.routes.values()) {
      for (const backend of route.canary === undefined ? [route.stable] : [route.stable, route.canary]) {
        if (backend.release !== release) continue;
        for (const candidate of backend.targets) {
          if (candidate.host === target.host && candidate.port === target.port) candidate.healthy = healthy;
        }
        backend.healthy = backend.targets.filter((candidate) => candidate.healthy !== false);
      }
    }
  }

  /** Cumulative figures of a release since the proxy started. */
  metrics(release: string): ReleaseMetrics {
    const stats = this.stats.get(release);
    return stats === undefined ? diffSnapshots(emptySnapshot(release), emptySnapshot(release)) : stats.metrics();
  }

  /** Cumulative counters now; `diffSnapshots(before, after)` gives the window between two. */
  snapshot(release: string): MetricsSnapshot {
    const now = performance.now();
    const stats = this.stats.get(release);
    return stats === undefined ? emptySnapshot(release, now) : stats.snapshot(now);
  }

  /** Drop the counters of a release nobody routes to any more. */
  forgetRelease(release: string): void {
    for (const route of this.routes.values()) {
      if (route.stable.release === release || route.canary?.release === release) return;
    }
    this.stats.delete(release);
  }

  /** Requests whose Host matched no route. */
  get unroutedRequests(): number {
    return this.noRoute;
  }

  private lookup(hostHeader: string | undefined): Route | undefined {
    if (hostHeader === undefined) return undefined;
    const cached = this.hostCache.get(hostHeader);
    if (cached !== undefined) return cached;
    let host = hostHeader.toLowerCase();
    const colon = host.indexOf(':');
    if (colon >= 0) host = host.slice(0, colon);
    if (host.endsWith('.')) host = host.slice(0, -1);
    if (!host.endsWith(this.suffix)) return undefined;
    const route = this.routes.get(host.slice(0, host.length - this.suffix.length));
    if (route !== undefined && this.hostCache.size < HOST_CACHE_LIMIT) this.hostCache.set(hostHeader, route);
    return route;
  }

  /** Stable or canary by weight; the other one when the chosen has no healthy replica. */
  private choose(route: Route): Backend {
    let backend = route.stable;
    const canary = route.canary;
    if (canary !== undefined && route.weight > 0) {
      route.credit += route.weight;
      if (route.credit >= 100) {
        route.credit -= 100;
        backend = canary;
      }
    }
    if (backend.healthy.length === 0) {
      const other = backend === route.stable ? canary : route.stable;
      if (other !== undefined && other.healthy.length > 0) return other;
    }
    return backend;
  }

  private pick(backend: Backend): ProxyTarget | undefined {
    const healthy = backend.healthy;
    if (healthy.length === 0) return undefined;
    if (backend.next >= healthy.length) backend.next = 0;
    return healthy[backend.next++];
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const head = forwardRequestHead(req.rawHeaders, req.socket.remoteAddress ?? '', this.forwardedPort);
    const route = this.lookup(head.host);
    if (route === undefined) {
      this.noRoute++;
      replyError(
        res,
        undefined,
        404,
        'PROXY_NO_ROUTE',
        head.host === undefined ? 'the request has no Host header' : `no service is routed for host ${head.host}`,
      );
      req.resume();
      return;
    }
    const backend = this.choose(route);
    const target = this.pick(backend);
    if (target === undefined) {
      replyError(
        res,
        backend.release,
        503,
        'PROXY_NO_HEALTHY_TARGET',
        `no healthy replica of ${route.service} in ${route.namespace}`,
      );
      backend.stats.record(503, performance.now() - started, true);
      req.resume();
      return;
    }
    new Exchange(this.upstreamConfig, req, res, head, backend, target, started).send();
  }

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const started = performance.now();
    socket.on('error', () => socket.destroy());
    const host = req.headers.host;
    const route = this.lookup(host);
    const refuse = (status: string, code: string, message: string) => {
      const body = errorBody(code, message);
      socket.end(
        `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
      );
    };
    if (route === undefined) {
      this.noRoute++;
      refuse('404 Not Found', 'PROXY_NO_ROUTE', `no service is routed for host ${host}`);
      return;
    }
    const backend = this.choose(route);
    const target = this.pick(backend);
    if (target === undefined) {
      backend.stats.record(503, performance.now() - started, true);
      refuse(
        '503 Service Unavailable',
        'PROXY_NO_HEALTHY_TARGET',
        `no healthy replica of ${route.service} in ${route.namespace}`,
      );
      return;
    }
    const headers = req.headers;
    const prior = headers['x-forwarded-for'];
    const client = req.socket.remoteAddress ?? '';
    headers['x-forwarded-for'] = prior === undefined ? client : `${prior}, ${client}`;
    headers['x-forwarded-host'] = host;
    headers['x-forwarded-proto'] = 'http';
    headers['x-forwarded-port'] = this.forwardedPort;
    // Connection and Upgrade stay: they are the point of the request. No pooling for upgraded sockets.
    const upstream = request({
      host: target.host,
      port: target.port,
      method: req.method,
      path: req.url,
      headers,
      agent: false,
    });
    const rawHead = (message: IncomingMessage) => {
      let text = `HTTP/1.1 ${message.statusCode} ${message.statusMessage}\r\n`;
      for (let i = 0; i < message.rawHeaders.length; i += 2)
        text += `${message.rawHeaders[i]}: ${message.rawHeaders[i + 1]}\r\n`;
      return `${text}x-idp-release: ${backend.release}\r\n\r\n`;
    };
    upstream.on('upgrade', (response, upSocket, upHead) => {
      backend.stats.record(response.statusCode ?? 101, performance.now() - started, false);
      upSocket.on('error', () => socket.destroy());
      socket.on('close', () => upSocket.destroy());
      upSocket.on('close', () => socket.destroy());
      socket.write(rawHead(response));
      if (upHead.length > 0) socket.write(upHead);
      if (head.length > 0) upSocket.write(head);
      upSocket.pipe(socket);
      socket.pipe(upSocket);
    });
    upstream.on('response', (response) => {
      // The backend declined the upgrade: relay its answer and close.
      backend.stats.record(response.statusCode ?? 502, performance.now() - started, false);
      socket.write(rawHead(response).replace(/\r\n\r\n$/, '\r\nconnection: close\r\n\r\n'));
      response.pipe(socket);
    });
    upstream.on('error', () => {
      backend.stats.record(502, performance.now() - started, true);
      refuse(
        '502 Bad Gateway',
        'PROXY_BAD_GATEWAY',
        `replica ${target.host}:${target.port} of ${backend.release} failed`,
      );
    });
    upstream.end();
  }
}

interface UpstreamConfig {
  agent: Agent;
  /** Exchanges whose backend has not answered yet (for the upstream timeout sweep). */
  waiting: Set<Exchange>;
}

/** The state of one proxied request: which attempt is current, the status to count, retries. */
class Exchange {
  private upstreamRequest: ClientRequest | undefined;
  private status = 0;
  private byProxy = false;
  private retried = false;
  private recorded = false;

  constructor(
    private readonly config: UpstreamConfig,
    private readonly req: IncomingMessage,
    private readonly res: ServerResponse,
    private readonly head: ForwardedRequestHead,
    private readonly backend: Backend,
    private readonly target: ProxyTarget,
    private readonly started: number,
  ) {
    res.once('close', () => this.onClientClose());
  }

  send(): void {
    const { req, target, config } = this;
    const upstream = request({
      host: target.host,
      port: target.port,
      method: req.method,
      path: req.url,
      headers: this.head.headers,
      agent: config.agent,
    });
    this.upstreamRequest = upstream;
    config.waiting.add(this);
    upstream.once('response', (response) => this.onResponse(response));
    upstream.on('error', (err) => this.onUpstreamError(upstream, err as NodeJS.ErrnoException));
    if (this.head.hasBody) req.pipe(upstream);
    else upstream.end();
  }

  /** Called by the proxy's sweep: give up on a backend that has not answered since `deadline`. */
  expireIfStartedBefore(deadline: number): void {
    if (this.started < deadline)
      this.upstreamRequest?.destroy(Object.assign(new Error('upstream timeout'), { code: 'IDP_UPSTREAM_TIMEOUT' }));
  }

  private onResponse(response: IncomingMessage): void {
    const { res } = this;
    this.config.waiting.delete(this);
    this.status = response.statusCode ?? 502;
    res.writeHead(this.status, forwardResponseHeaders(response.rawHeaders, this.backend.release));
    response.pipe(res);
    response.once('close', () => {
      // The backend went away in the middle of the body: the client gets a cut response.
      if (!response.complete && !res.writableFinished) {
        this.status = 502;
        this.byProxy = true;
        res.destroy();
      }
    });
  }

  private onUpstreamError(upstream: ClientRequest, err: NodeJS.ErrnoException): void {
    if (upstream !== this.upstreamRequest || this.recorded) return;
    const { res } = this;
    this.config.waiting.delete(this);
    if (res.headersSent) {
      this.status = 502;
      this.byProxy = true;
      res.destroy();
      return;
    }
    // A pooled connection the backend closed just as we reused it: safe to retry once when the
    // request has no body (nothing of it was consumed).
    if (!this.retried && upstream.reusedSocket && err.code === 'ECONNRESET' && !this.head.hasBody) {
      this.retried = true;
      this.send();
      return;
    }
    this.byProxy = true;
    this.status = err.code === 'IDP_UPSTREAM_TIMEOUT' ? 504 : 502;
    const message =
      this.status === 504
        ? `replica ${this.target.host}:${this.target.port} of ${this.backend.release} did not answer in time`
        : `replica ${this.target.host}:${this.target.port} of ${this.backend.release} failed: ${err.code ?? err.message}`;
    replyError(
      res,
      this.backend.release,
      this.status,
      this.status === 504 ? 'PROXY_UPSTREAM_TIMEOUT' : 'PROXY_BAD_GATEWAY',
      message,
    );
  }

  private onClientClose(): void {
    if (this.recorded) return;
    this.recorded = true;
    this.config.waiting.delete(this);
    if (this.res.writableFinished) {
      this.backend.stats.record(this.status, performance.now() - this.started, this.byProxy);
      return;
    }
    // The client left before the answer was complete (or we cut it after a backend failure).
    this.upstreamRequest?.destroy();
    if (this.byProxy) this.backend.stats.record(this.status, performance.now() - this.started, true);
  }
}
