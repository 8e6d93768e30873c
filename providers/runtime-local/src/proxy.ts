// Edge proxy: one HTTP port for every service of the local runtime.
//
// `Host: <service>.<namespace>.localhost[:port]` selects a route; a route sends each request to
// its stable release or, by weight, to its canary, and round-robins over that release's healthy
// replicas. Bodies stream both ways; backend connections are kept alive. The proxy counts, per
// release, requests, 5xx answers and latency, which the canary engine reads as windows
// (`snapshot` + `diffSnapshots`). It sits on every request's path, so the request path avoids
// work it does not need: no logging, no per-request parsing beyond the Host header (cached), no
// buffering. Each request leaves one span (trace id, method, path, status, duration) in a
// bounded ring per service and namespace, and the backend gets a traceparent naming it.
import { Agent, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Exchange, type UpstreamConfig } from './exchange.ts';
import { ClientConnection, type FastServerContext } from './fast-connection.ts';
import { UpstreamPool } from './fast-upstream.ts';
import { forwardRequestHead } from './headers.ts';
import {
  diffSnapshots,
  emptySnapshot,
  prometheusFigures,
  ReleaseStats,
  type MetricsSnapshot,
  type PrometheusFigures,
  type ReleaseMetrics,
} from './metrics.ts';
import { replyError } from './proxy-replies.ts';
import type { EdgeProxyOptions, RouteSpec } from './proxy-types.ts';
import { chooseBackend, pickTarget, RouteTable } from './route-table.ts';
import {
  DEFAULT_SPANS_PER_ROUTE,
  newIds,
  newSpanId,
  parseTraceparent,
  ProxySpanRing,
  type ProxySpan,
} from './spans.ts';
import { forwardUpgrade, refuseUpgrade } from './upgrade.ts';

export type { BackendSpec, CanarySpec, EdgeProxyOptions, ProxyTarget, RouteSpec } from './proxy-types.ts';

export class EdgeProxy {
  private readonly routes: RouteTable;
  private readonly stats = new Map<string, ReleaseStats>();
  /** Request spans per `service.namespace`, dropped with the route. */
  private readonly spanRings = new Map<string, ProxySpanRing>();
  private readonly agent = new Agent({ keepAlive: true, scheduling: 'lifo', maxFreeSockets: 1024 });
  private readonly server: Server;
  private forwardedPort = '';
  private readonly upstreamConfig: UpstreamConfig;
  private readonly upstreamTimeoutMs: number;
  private sweeper: ReturnType<typeof setInterval> | undefined;
  private noRoute = 0;
  private readonly fast: FastServerContext | undefined;

  constructor(private readonly options: EdgeProxyOptions) {
    this.routes = new RouteTable(`.${(options.domain ?? 'localhost').toLowerCase()}`);
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
    if (options.fastPath !== false) this.fast = this.takeConnections();
  }

  /**
   * New connections start on the fast path; node's HTTP server gets those it hands off (with
   * the bytes it read put back), so everything the fast path does not take is answered as before.
   */
  private takeConnections(): FastServerContext {
    const nodeListeners = this.server.listeners('connection') as Array<(socket: Socket) => void>;
    this.server.removeAllListeners('connection');
    const keepAliveSeconds = Math.floor((this.options.keepAliveTimeoutMs ?? 65_000) / 1000);
    const keepAliveLines = `connection: keep-alive\r\nkeep-alive: timeout=${keepAliveSeconds}\r\n`;
    const tails = new Map<string, string>();
    const fast: FastServerContext = {
      pool: new UpstreamPool(),
      keepAliveLines,
      keptAliveTail: (release) => {
        let tail = tails.get(release);
        if (tail === undefined) {
          if (tails.size >= 1000) tails.clear();
          tail = `x-idp-release: ${release}\r\n${keepAliveLines}\r\n`;
          tails.set(release, tail);
        }
        return tail;
      },
      routes: this.routes,
      forwardedPort: '',
      keepAliveTimeoutMs: this.options.keepAliveTimeoutMs ?? 65_000,
      countNoRoute: () => this.noRoute++,
      handOff: (socket) => {
        for (const listener of nodeListeners) listener.call(this.server, socket);
      },
      connections: new Set(),
    };
    this.server.on('connection', (socket: Socket) => new ClientConnection(fast, socket));
    return fast;
  }

  /** Start listening; resolves with the bound port. */
  listen(): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host ?? '127.0.0.1', () => {
        this.server.off('error', reject);
        const port = this.port;
        this.forwardedPort = String(port);
        if (this.fast !== undefined) this.fast.forwardedPort = this.forwardedPort;
        // One coarse sweep instead of a timer per request or socket: the upstream deadline is for
        // the backend to start answering (a long streaming answer is not cut); idle fast-path
        // connections are closed after the keep-alive timeout.
        this.sweeper = setInterval(
          () => this.sweep(),
          this.upstreamTimeoutMs > 0 ? Math.min(1000, Math.max(10, this.upstreamTimeoutMs / 4)) : 1000,
        );
        this.sweeper.unref();
        resolve(port);
      });
    });
  }

  get port(): number {
    const address = this.server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  }

  private sweep(): void {
    const now = performance.now();
    const deadline = this.upstreamTimeoutMs > 0 ? now - this.upstreamTimeoutMs : undefined;
    if (deadline !== undefined) {
      for (const exchange of this.upstreamConfig.waiting) exchange.expireIfStartedBefore(deadline);
    }
    if (this.fast !== undefined) {
      const idleSince = now - this.fast.keepAliveTimeoutMs;
      for (const connection of this.fast.connections) connection.sweep(deadline, idleSince);
    }
  }

  /** Stop accepting, drop open connections and backend sockets. */
  close(): Promise<void> {
    if (this.sweeper !== undefined) clearInterval(this.sweeper);
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      this.agent.destroy();
      if (this.fast !== undefined) {
        for (const connection of this.fast.connections) connection.destroy();
        this.fast.pool.destroy();
      }
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
    this.routes.set(
      service,
      namespace,
      spec,
      (release) => this.statsFor(release),
      (svc, ns) => this.ringFor(svc, ns),
    );
  }

  removeRoute(service: string, namespace: string): boolean {
    this.spanRings.delete(`${service.toLowerCase()}.${namespace.toLowerCase()}`);
    return this.routes.remove(service, namespace);
  }

  private ringFor(service: string, namespace: string): ProxySpanRing {
    const key = `${service.toLowerCase()}.${namespace.toLowerCase()}`;
    let ring = this.spanRings.get(key);
    if (ring === undefined) {
      ring = new ProxySpanRing(this.options.spansPerRoute ?? DEFAULT_SPANS_PER_ROUTE);
      this.spanRings.set(key, ring);
    }
    return ring;
  }

  /** The request spans recorded for a service in a namespace, oldest first (copies; [] for none). */
  spans(service: string, namespace: string): ProxySpan[] {
    return this.spanRings.get(`${service.toLowerCase()}.${namespace.toLowerCase()}`)?.toArray() ?? [];
  }

  getRoute(service: string, namespace: string): RouteSpec | undefined {
    return this.routes.get(service, namespace);
  }

  /** Take a replica of a release out of rotation (or back in) on every route that uses it. */
  setTargetHealth(release: string, target: { host: string; port: number }, healthy: boolean): void {
    this.routes.setTargetHealth(release, target, healthy);
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

  /** Every release's cumulative figures for a Prometheus scrape (copies; the request path is not touched). */
  prometheusFigures(): PrometheusFigures[] {
    return [...this.stats.values()].map(prometheusFigures);
  }

  /** Drop the counters of a release nobody routes to any more. */
  forgetRelease(release: string): void {
    if (this.routes.routesTo(release)) return;
    this.stats.delete(release);
  }

  /** Requests whose Host matched no route. */
  get unroutedRequests(): number {
    return this.noRoute;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const started = performance.now();
    const head = forwardRequestHead(req.rawHeaders, req.socket.remoteAddress ?? '', this.forwardedPort);
    const route = this.routes.lookup(head.host);
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
    const backend = chooseBackend(route);
    const target = pickTarget(backend);
    if (target === undefined) {
      replyError(
        res,
        backend.release,
        503,
        'PROXY_NO_HEALTHY_TARGET',
        `no healthy replica of ${route.service} in ${route.namespace}`,
      );
      const durationMs = performance.now() - started;
      backend.stats.record(503, durationMs, true);
      const parent = head.traceparent === undefined ? undefined : parseTraceparent(head.traceparent);
      const ids = parent === undefined ? newIds() : parent.traceId + newSpanId();
      route.spans.record(
        ids,
        parent?.parentSpanId,
        req.method ?? 'GET',
        req.url ?? '/',
        503,
        performance.timeOrigin + started,
        durationMs,
        backend.release,
        0,
        true,
      );
      req.resume();
      return;
    }
    // A valid traceparent continues the caller's trace; else a new one starts. The backend's own
    // spans join it with the proxy's span as their parent.
    const parent = head.traceparent === undefined ? undefined : parseTraceparent(head.traceparent);
    const ids = parent === undefined ? newIds() : parent.traceId + newSpanId();
    head.headers.push('traceparent', `00-${ids.slice(0, 32)}-${ids.slice(32)}-01`);
    new Exchange(
      this.upstreamConfig,
      req,
      res,
      head,
      backend,
      target,
      started,
      route.spans,
      ids,
      parent?.parentSpanId,
    ).send();
  }

  private handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const started = performance.now();
    socket.on('error', () => socket.destroy());
    const host = req.headers.host;
    const route = this.routes.lookup(host);
    if (route === undefined) {
      this.noRoute++;
      refuseUpgrade(socket, '404 Not Found', 'PROXY_NO_ROUTE', `no service is routed for host ${host}`);
      return;
    }
    const backend = chooseBackend(route);
    const target = pickTarget(backend);
    if (target === undefined) {
      backend.stats.record(503, performance.now() - started, true);
      refuseUpgrade(
        socket,
        '503 Service Unavailable',
        'PROXY_NO_HEALTHY_TARGET',
        `no healthy replica of ${route.service} in ${route.namespace}`,
      );
      return;
    }
    forwardUpgrade({ req, socket, head, host, backend, target, forwardedPort: this.forwardedPort, started });
  }
}
