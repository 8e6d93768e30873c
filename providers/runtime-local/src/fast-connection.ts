// A client connection on the edge proxy's fast path: requests whose head arrives whole and that
// the strict parser accepts are routed and forwarded here, one at a time (pipelined requests wait
// their turn); the first one it does not accept hands the connection, with the bytes not yet
// used, to node's HTTP server and the proxy's node path, which answers everything else as before.
import type { Socket } from 'node:net';
import { errorResponse, FastExchange, type ClientSide, type FastContext } from './fast-exchange.ts';
import { requestHeadBytes, scanRequest } from './fast-bytes.ts';
import { MAX_HEAD_BYTES, parseRequestHead } from './fast-head.ts';
import { forwardRequestHead, type ForwardedRequestHead } from './headers.ts';
import { chooseBackend, pickTarget, type RouteTable } from './route-table.ts';
import { newIds, newSpanId, parseTraceparent } from './spans.ts';

export interface FastServerContext extends FastContext {
  routes: RouteTable;
  /** The proxy's own port, for X-Forwarded-Port. */
  forwardedPort: string;
  keepAliveTimeoutMs: number;
  countNoRoute(): void;
  /** Give the socket to node's HTTP server (the bytes already read are put back first). */
  handOff(socket: Socket): void;
  connections: Set<ClientConnection>;
}

/** What routing a request needs, from either parser. */
interface FastRequest {
  method: string;
  url: string;
  host: string | undefined;
  contentLength: number;
  close: boolean;
  traceparent: string | undefined;
}

/** Pipelined bytes kept while a request is in flight before the client is paused. */
const MAX_BACKLOG = 64 * 1024;

export class ClientConnection implements ClientSide {
  private buffered: Buffer | undefined;
  private exchange: FastExchange | undefined;
  private readonly remoteAddress: string;
  private readonly onData = (chunk: Buffer) => this.receive(chunk);
  private readonly onError = () => this.socket.destroy();
  private readonly onClose = () => this.closed();
  /** performance.now() when the connection last finished an answer (or opened). */
  private idleSince = performance.now();
  private ending = false;
  /** The X-Forwarded-* lines for this client and the Host they were made for (made again when it changes). */
  private forwardedLines = '';
  private forwardedHost: string | undefined;

  constructor(
    private readonly context: FastServerContext,
    readonly socket: Socket,
  ) {
    this.remoteAddress = socket.remoteAddress ?? '';
    context.connections.add(this);
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
  }

  destroy(): void {
    this.socket.destroy();
  }

  /**
   * Called by the proxy's sweep: the request in flight gets a 504 when its replica has not begun
   * answering since before `upstreamDeadline` (undefined: no such deadline), and the connection is
   * closed when it has waited for a request since before `idleDeadline`.
   */
  sweep(upstreamDeadline: number | undefined, idleDeadline: number): void {
    const exchange = this.exchange;
    if (exchange !== undefined) {
      if (upstreamDeadline !== undefined) exchange.expireIfStartedBefore(upstreamDeadline);
    } else if (this.buffered === undefined && this.idleSince < idleDeadline) this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    if (this.ending) return; // answered with connection: close; the rest of what it sends is dropped
    const exchange = this.exchange;
    if (exchange !== undefined && exchange.bodyLeft > 0) {
      const n = Math.min(exchange.bodyLeft, chunk.length);
      exchange.forwardBody(n === chunk.length ? chunk : chunk.subarray(0, n));
      if (n === chunk.length) return;
      chunk = chunk.subarray(n);
    }
    this.buffered = this.buffered === undefined ? chunk : Buffer.concat([this.buffered, chunk]);
    if (this.exchange === undefined) this.next();
    else if (this.buffered.length > MAX_BACKLOG) this.socket.pause();
  }

  private closed(): void {
    this.context.connections.delete(this);
    const exchange = this.exchange;
    this.exchange = undefined;
    exchange?.clientGone();
  }

  finished(keepAlive: boolean, now: number): void {
    this.exchange = undefined;
    this.idleSince = now;
    if (!keepAlive) {
      this.ending = true;
      this.socket.end();
      this.buffered = undefined;
      return;
    }
    if (this.buffered !== undefined) this.next();
    if (this.exchange === undefined && this.socket.isPaused()) this.socket.resume();
  }

  /** Start the request at the front of the buffered bytes. */
  private next(): void {
    const buffer = this.buffered!;
    const end = buffer.indexOf('\r\n\r\n', 0, 'latin1');
    if (end < 0 || end > MAX_HEAD_BYTES) return this.handOff();
    // The usual head is read from its bytes; any other goes through the string parser, which
    // hands what it does not take to node.
    const bytes = scanRequest(buffer, end);
    let request: FastRequest | undefined = bytes;
    let forwarded: ForwardedRequestHead | undefined;
    if (request === undefined) {
      const head = parseRequestHead(buffer.toString('latin1', 0, end));
      if (head === undefined) return this.handOff();
      forwarded = forwardRequestHead(head.raw, this.remoteAddress, this.context.forwardedPort);
      request = { ...head, host: forwarded.host, traceparent: forwarded.traceparent };
    }
    const bodyStart = end + 4;
    this.buffered = undefined;
    let firstBody: Buffer | undefined;
    if (bodyStart < buffer.length) {
      const bodyEnd = Math.min(buffer.length, bodyStart + request.contentLength);
      if (bodyEnd > bodyStart) firstBody = buffer.subarray(bodyStart, bodyEnd);
      if (bodyEnd < buffer.length) this.buffered = buffer.subarray(bodyEnd);
    }
    const started = performance.now();
    const context = this.context;
    const { method, url, host } = request;
    const unread = request.close || request.contentLength > (firstBody?.length ?? 0);
    const route = context.routes.lookup(host);
    if (route === undefined) {
      context.countNoRoute();
      return this.answerItself(404, 'PROXY_NO_ROUTE', `no service is routed for host ${host}`, undefined, unread);
    }
    const backend = chooseBackend(route);
    const target = pickTarget(backend);
    const parent = request.traceparent === undefined ? undefined : parseTraceparent(request.traceparent);
    const ids = parent === undefined ? newIds() : parent.traceId + newSpanId();
    if (target === undefined) {
      const message = `no healthy replica of ${route.service} in ${route.namespace}`;
      const durationMs = performance.now() - started;
      backend.stats.record(503, durationMs, true);
      route.spans.record(
        ids,
        parent?.parentSpanId,
        method,
        url,
        503,
        performance.timeOrigin + started,
        durationMs,
        backend.release,
        0,
        true,
      );
      return this.answerItself(503, 'PROXY_NO_HEALTHY_TARGET', message, backend.release, unread);
    }
    const traceparent = `traceparent: 00-${ids.slice(0, 32)}-${ids.slice(32)}-01\r\n\r\n`;
    let requestHead: string | Buffer;
    if (bytes !== undefined) {
      if (this.forwardedHost !== host) {
        this.forwardedHost = host;
        this.forwardedLines = `x-forwarded-for: ${this.remoteAddress}\r\nx-forwarded-proto: http\r\nx-forwarded-port: ${context.forwardedPort}\r\nx-forwarded-host: ${host}\r\n`;
      }
      requestHead = requestHeadBytes(buffer, bytes, this.forwardedLines, traceparent);
    } else {
      const headers = forwarded!.headers;
      let text = `${method} ${url} HTTP/1.1\r\n`;
      for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
      requestHead = text + traceparent;
    }
    const exchange = new FastExchange(
      context,
      this,
      method,
      url,
      requestHead,
      request.contentLength,
      request.close,
      route,
      backend,
      target,
      started,
      ids,
      parent?.parentSpanId,
    );
    this.exchange = exchange;
    exchange.send(firstBody);
  }

  private answerItself(
    status: number,
    code: string,
    message: string,
    release: string | undefined,
    close: boolean,
  ): void {
    this.socket.write(errorResponse(status, code, message, release, close), 'latin1');
    this.finished(!close, performance.now());
  }

  /** Node's HTTP server takes the connection from here, starting with the bytes not yet used. */
  private handOff(): void {
    const { socket } = this;
    this.context.connections.delete(this);
    socket.off('data', this.onData);
    socket.off('error', this.onError);
    socket.off('close', this.onClose);
    if (this.buffered !== undefined) socket.unshift(this.buffered);
    this.buffered = undefined;
    this.context.handOff(socket);
  }
}
