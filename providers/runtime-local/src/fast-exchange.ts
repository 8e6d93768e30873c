// One request on the proxy's fast path: the head goes to a kept-alive replica connection as one
// write, the response head is rewritten and its body relayed byte for byte (its own framing kept)
// until its end is seen. The same outcomes as the node path: one retry on a pooled connection the
// backend closed, 502/504 in the API's envelope, a cut answer when the backend dies mid-body,
// 499 spans for clients that leave, per-release counts and a span for every request.
import type { Socket } from 'node:net';
import { responseBytes, scanResponse } from './fast-bytes.ts';
import { errorBody } from './proxy-replies.ts';
import { ChunkedScanner, MAX_HEAD_BYTES, parseResponseHead, type Framing } from './fast-head.ts';
import type { UpstreamConnection, UpstreamPool, UpstreamUser } from './fast-upstream.ts';
import { forwardResponseHeaders } from './headers.ts';
import type { ProxyTarget } from './proxy-types.ts';
import type { Backend, Route } from './route-table.ts';

/** The client connection an exchange answers on. */
export interface ClientSide {
  readonly socket: Socket;
  /** `keepAlive` false: close the connection once the answer is written. `now`: performance.now(). */
  finished(keepAlive: boolean, now: number): void;
}

export interface FastContext {
  pool: UpstreamPool;
  /** `connection: keep-alive` and its timeout, for answers on connections that stay open. */
  keepAliveLines: string;
  /** The end of a response head on a connection that stays open: X-Idp-Release, keep-alive lines, blank line. */
  keptAliveTail(release: string): string;
}

/** A complete answer the proxy makes itself (no route, no healthy replica, backend failure). */
export function errorResponse(
  status: number,
  code: string,
  message: string,
  release: string | undefined,
  close: boolean,
) {
  const body = errorBody(code, message);
  const reason = REASONS[status] ?? 'Error';
  return (
    `HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    (release === undefined ? '' : `x-idp-release: ${release}\r\n`) +
    (close ? 'connection: close\r\n' : '') +
    `\r\n${body}`
  );
}

const REASONS: Record<number, string> = {
  404: 'Not Found',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Bodies up to this size that arrive with their head go out in the same write. */
const SMALL_BODY = 8 * 1024;

export class FastExchange implements UpstreamUser {
  /** Request body bytes still to come from the client. */
  bodyLeft: number;
  private upstream: UpstreamConnection | undefined;
  private status = 0;
  private byProxy = false;
  private retried = false;
  private done = false;
  private headSent = false;
  private pendingHead: Buffer | undefined;
  private framing: Framing = 'none';
  private left = 0;
  private chunks: ChunkedScanner | undefined;
  private reusable = false;
  private keepAliveMs: number | undefined;

  constructor(
    private readonly context: FastContext,
    private readonly client: ClientSide,
    private readonly method: string,
    private readonly url: string,
    /** Request line and headers for the replica, ready to write (a string is latin1). */
    private readonly requestHead: string | Buffer,
    private readonly contentLength: number,
    private readonly clientClose: boolean,
    private readonly route: Route,
    private readonly backend: Backend,
    private readonly target: ProxyTarget,
    private readonly started: number,
    private readonly ids: string,
    private readonly parent: string | undefined,
  ) {
    this.bodyLeft = contentLength;
  }

  /** Send the head (and the body bytes that came with it) to a replica. */
  send(firstBody: Buffer | undefined): void {
    const upstream = this.context.pool.acquire(this.target, this.retried, this.started);
    upstream.user = this;
    this.upstream = upstream;
    const socket = upstream.socket;
    if (firstBody === undefined) socket.write(this.requestHead, 'latin1');
    else {
      socket.cork();
      socket.write(this.requestHead, 'latin1');
      this.forwardBody(firstBody);
      socket.uncork();
    }
  }

  /** Body bytes from the client (never more than bodyLeft). */
  forwardBody(chunk: Buffer): void {
    this.bodyLeft -= chunk.length;
    const upstream = this.upstream;
    if (upstream === undefined || this.done) return; // already answered: the rest is dropped
    if (!upstream.socket.write(chunk)) {
      const client = this.client.socket;
      client.pause();
      upstream.socket.once('drain', () => client.resume());
    }
  }

  /** Called by the proxy's sweep: a 504 when the replica has not begun its answer since before `deadline`. */
  expireIfStartedBefore(deadline: number): void {
    if (this.started >= deadline || this.headSent || this.done) return;
    const upstream = this.upstream;
    this.upstream = undefined;
    if (upstream !== undefined) {
      upstream.user = undefined;
      upstream.socket.destroy();
    }
    this.fail(
      504,
      'PROXY_UPSTREAM_TIMEOUT',
      `replica ${this.target.host}:${this.target.port} of ${this.backend.release} did not answer in time`,
    );
  }

  onUpstreamData(chunk: Buffer): void {
    if (this.done) return;
    if (!this.headSent) {
      const buffer = this.pendingHead === undefined ? chunk : Buffer.concat([this.pendingHead, chunk]);
      this.pendingHead = undefined;
      this.takeHead(buffer);
      return;
    }
    this.relay(chunk);
  }

  private takeHead(buffer: Buffer): void {
    let start = 0;
    for (;;) {
      const end = buffer.indexOf('\r\n\r\n', start, 'latin1');
      if (end < 0) {
        if (buffer.length - start > MAX_HEAD_BYTES) return this.badResponse('response head too large');
        this.pendingHead = Buffer.from(start === 0 ? buffer : buffer.subarray(start)); // a copy: see onUpstreamData
        return;
      }
      if (this.takeByteHead(buffer, start, end)) return;
      const head = parseResponseHead(buffer.toString('latin1', start, end), this.method);
      if (typeof head === 'string') return this.badResponse(head);
      start = end + 4;
      if (head.status < 200) {
        if (head.status === 101) return this.badResponse('unexpected 101');
        continue; // interim answers (103 …) are not passed on, as node's client does not
      }
      this.status = head.status;
      this.framing = head.framing;
      this.left = head.length;
      this.reusable = !head.close;
      this.keepAliveMs = head.keepAliveMs;
      if (head.framing === 'chunked') this.chunks = new ChunkedScanner();
      const headers = forwardResponseHeaders(head.raw, this.backend.release);
      let text = `HTTP/1.1 ${head.status} ${head.reason}\r\n`;
      for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
      if (head.framing === 'chunked') text += `transfer-encoding: ${head.transferEncoding}\r\n`;
      const keepAlive = !this.clientClose && head.framing !== 'close';
      text += keepAlive ? this.context.keepAliveLines : 'connection: close\r\n';
      this.headSent = true;
      const client = this.client.socket;
      if (head.framing === 'none' || (head.framing === 'length' && head.length === 0)) {
        if (start < buffer.length) this.reusable = false; // bytes the replica should not have sent
        client.write(`${text}\r\n`, 'latin1');
        this.complete();
        return;
      }
      if (head.framing === 'length' && buffer.length - start === head.length && head.length <= SMALL_BODY) {
        // The whole answer is in hand and small: one write of head and body together.
        client.write(`${text}\r\n${buffer.toString('latin1', start)}`, 'latin1');
        this.left = 0;
        this.complete();
        return;
      }
      client.cork();
      client.write(`${text}\r\n`, 'latin1');
      if (start < buffer.length) this.relay(start === 0 ? buffer : buffer.subarray(start));
      client.uncork();
      return;
    }
  }

  /** A head read by scanResponse (framed by Content-Length): passed on as bytes. False: not one it reads. */
  private takeByteHead(buffer: Buffer, start: number, end: number): boolean {
    const head = scanResponse(buffer, start, end, this.method);
    if (head === undefined) return false;
    this.status = head.status;
    this.framing = 'length';
    this.left = head.length;
    this.reusable = !head.close;
    this.keepAliveMs = head.keepAliveMs;
    this.headSent = true;
    const tail = this.clientClose
      ? `x-idp-release: ${this.backend.release}\r\nconnection: close\r\n\r\n`
      : this.context.keptAliveTail(this.backend.release);
    const bodyStart = end + 4;
    const inHand = buffer.length - bodyStart;
    const client = this.client.socket;
    if (inHand >= head.length && head.length <= SMALL_BODY) {
      // The whole answer is in hand and small: one write of head and body together.
      if (inHand > head.length) this.reusable = false; // bytes the replica should not have sent
      client.write(responseBytes(buffer, head, tail, bodyStart, head.length));
      this.left = 0;
      this.complete();
      return true;
    }
    client.cork();
    client.write(responseBytes(buffer, head, tail, bodyStart, 0));
    if (inHand > 0) this.relay(buffer.subarray(bodyStart));
    client.uncork();
    return true;
  }

  private relay(chunk: Buffer): void {
    let body = chunk;
    let ended = false;
    if (this.framing === 'length') {
      if (chunk.length >= this.left) {
        if (chunk.length > this.left) {
          this.reusable = false;
          body = chunk.subarray(0, this.left);
        }
        ended = true;
      }
      this.left -= body.length;
    } else if (this.framing === 'chunked') {
      const taken = this.chunks!.scan(chunk);
      if (taken < 0) return this.cut();
      if (this.chunks!.done) {
        ended = true;
        if (taken < chunk.length) {
          this.reusable = false;
          body = chunk.subarray(0, taken);
        }
      }
    }
    const client = this.client.socket;
    // A copy: the replica connection's read buffer is reused once this returns.
    if (!client.write(Buffer.from(body)) && !ended) {
      const upstream = this.upstream!;
      upstream.socket.pause();
      client.once('drain', () => upstream.socket.resume());
    }
    if (ended) this.complete();
  }

  onUpstreamClosed(connection: UpstreamConnection, code: string | undefined): void {
    if (connection !== this.upstream || this.done) return;
    this.upstream = undefined;
    if (this.headSent) {
      if (this.framing === 'close') this.complete();
      else this.cut();
      return;
    }
    // A pooled connection the backend closed just as we reused it: safe to retry once when the
    // request has no body (nothing of it was consumed).
    if (!this.retried && connection.reused && this.contentLength === 0 && this.pendingHead === undefined) {
      this.retried = true;
      this.send(undefined);
      return;
    }
    this.fail(
      502,
      'PROXY_BAD_GATEWAY',
      `replica ${this.target.host}:${this.target.port} of ${this.backend.release} failed: ${code ?? 'ECONNRESET'}`,
    );
  }

  /** The client went away before its answer was complete. */
  clientGone(): void {
    if (this.done) return;
    this.done = true;
    this.dropUpstream();
    const durationMs = performance.now() - this.started;
    if (this.byProxy) this.backend.stats.record(this.status, durationMs, true);
    // 499, as nginx logs it: the client closed the connection before the answer was complete.
    this.recordSpan(this.byProxy ? this.status : 499, durationMs);
  }

  private badResponse(reason: string): void {
    this.dropUpstream();
    this.fail(
      502,
      'PROXY_BAD_GATEWAY',
      `replica ${this.target.host}:${this.target.port} of ${this.backend.release} failed: ${reason}`,
    );
  }

  /** The proxy answers itself (the replica failed before its answer began). */
  private fail(status: number, code: string, message: string): void {
    this.done = true;
    this.status = status;
    this.byProxy = true;
    const close = this.clientClose || this.bodyLeft > 0;
    this.client.socket.write(errorResponse(status, code, message, this.backend.release, close), 'latin1');
    const now = performance.now();
    this.record(now);
    this.client.finished(!close, now);
  }

  /** The replica died in the middle of its answer: the client gets a cut response. */
  private cut(): void {
    this.done = true;
    this.dropUpstream();
    this.status = 502;
    this.byProxy = true;
    this.record(performance.now());
    this.client.socket.destroy();
  }

  private complete(): void {
    this.done = true;
    const now = performance.now();
    const upstream = this.upstream;
    this.upstream = undefined;
    if (upstream !== undefined) {
      if (this.reusable && this.bodyLeft === 0) this.context.pool.release(upstream, this.keepAliveMs, now);
      else {
        upstream.user = undefined;
        upstream.socket.destroy();
      }
    }
    this.record(now);
    this.client.finished(!this.clientClose && this.framing !== 'close' && this.bodyLeft === 0, now);
  }

  private dropUpstream(): void {
    const upstream = this.upstream;
    this.upstream = undefined;
    if (upstream === undefined) return;
    upstream.user = undefined;
    upstream.socket.destroy();
  }

  private record(now: number): void {
    const durationMs = now - this.started;
    this.backend.stats.record(this.status, durationMs, this.byProxy);
    this.recordSpan(this.status, durationMs);
  }

  private recordSpan(status: number, durationMs: number): void {
    this.route.spans.record(
      this.ids,
      this.parent,
      this.method,
      this.url,
      status,
      performance.timeOrigin + this.started,
      durationMs,
      this.backend.release,
      this.target.port,
      this.byProxy,
    );
  }
}
