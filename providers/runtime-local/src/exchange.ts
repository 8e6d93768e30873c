// Forwarding one plain HTTP request to a replica: upstream request, one retry, timeout, cut responses, the status counted.
import { request, type Agent, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { forwardResponseHeaders, type ForwardedRequestHead } from './headers.ts';
import { replyError } from './proxy-replies.ts';
import type { ProxyTarget } from './proxy-types.ts';
import type { Backend } from './route-table.ts';
import type { ProxySpanRing } from './spans.ts';

export interface UpstreamConfig {
  agent: Agent;
  /** Exchanges whose backend has not answered yet (for the upstream timeout sweep). */
  waiting: Set<{ expireIfStartedBefore(deadline: number): void }>;
}

/** The state of one proxied request: which attempt is current, the status to count, retries. */
export class Exchange {
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
    /** Where the request's span is recorded, its trace and span id (48 hex digits) and the caller's span. */
    private readonly spans: ProxySpanRing,
    private readonly ids: string,
    private readonly parent: string | undefined,
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
    const durationMs = performance.now() - this.started;
    if (this.res.writableFinished) {
      this.backend.stats.record(this.status, durationMs, this.byProxy);
      this.recordSpan(this.status, durationMs);
      return;
    }
    // The client left before the answer was complete (or we cut it after a backend failure).
    this.upstreamRequest?.destroy();
    if (this.byProxy) this.backend.stats.record(this.status, durationMs, true);
    // 499, as nginx logs it: the client closed the connection before the answer was complete.
    this.recordSpan(this.byProxy ? this.status : 499, durationMs);
  }

  private recordSpan(status: number, durationMs: number): void {
    const { req } = this;
    this.spans.record(
      this.ids,
      this.parent,
      req.method ?? 'GET',
      req.url ?? '/',
      status,
      performance.timeOrigin + this.started,
      durationMs,
      this.backend.release,
      this.target.port,
      this.byProxy,
    );
  }
}
