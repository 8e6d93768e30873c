// The fast path's connections to replicas: kept alive and reused last-in first-out per replica,
// each with its listeners set once (not per request); the exchange using it gets its bytes.
import { connect, type Socket } from 'node:net';
import type { ProxyTarget } from './proxy-types.ts';

/** What an upstream connection reports to the exchange that uses it. */
export interface UpstreamUser {
  /** `chunk` is only valid during the call (the read buffer is reused): copy what is kept. */
  onUpstreamData(chunk: Buffer): void;
  onUpstreamClosed(connection: UpstreamConnection, code: string | undefined): void;
}

const MAX_IDLE_PER_TARGET = 1024;

/**
 * Every replica connection reads into this one buffer (node's `onread`): no buffer is allocated
 * and no stream event emitted per read; the exchange copies what it keeps before returning.
 */
const READ_BUFFER = Buffer.allocUnsafe(64 * 1024);

export class UpstreamConnection {
  user: UpstreamUser | undefined;
  /** It served a request before (a failure on it may be the backend closing an idle connection). */
  reused = false;
  /**
   * performance.now() after which it is not reused: a second before the backend said it closes
   * idle connections (as node's agent does), so a request is not sent just as it closes.
   */
  expiresAt = Infinity;
  private errorCode: string | undefined;
  readonly socket: Socket;

  constructor(
    private readonly pool: UpstreamPool,
    readonly key: string,
    target: ProxyTarget,
  ) {
    const socket = connect({
      host: target.host,
      port: target.port,
      onread: { buffer: READ_BUFFER, callback: (bytes: number) => this.read(bytes) },
    });
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.errorCode = err.code ?? err.message;
    });
    socket.on('close', () => {
      this.pool.forget(this);
      const user = this.user;
      this.user = undefined;
      user?.onUpstreamClosed(this, this.errorCode);
    });
  }

  private read(bytes: number): boolean {
    if (this.user !== undefined) this.user.onUpstreamData(READ_BUFFER.subarray(0, bytes));
    else this.socket.destroy(); // an idle connection has nothing to say
    return true;
  }
}

export class UpstreamPool {
  private readonly idle = new Map<string, UpstreamConnection[]>();
  private readonly open = new Set<UpstreamConnection>();
  /** `host:port` of each target object routes hand out (they are not changed in place). */
  private readonly keys = new WeakMap<ProxyTarget, string>();

  /** An idle connection to the replica (not expiring at `now`), or a new one (writes before it connects are queued). */
  acquire(target: ProxyTarget, fresh: boolean, now: number): UpstreamConnection {
    let key = this.keys.get(target);
    if (key === undefined) {
      key = `${target.host}:${target.port}`;
      this.keys.set(target, key);
    }
    if (!fresh) {
      const list = this.idle.get(key);
      while (list !== undefined && list.length > 0) {
        const connection = list.pop()!;
        if (connection.socket.destroyed) continue;
        if (connection.expiresAt > now) return connection;
        connection.socket.destroy();
      }
    }
    const connection = new UpstreamConnection(this, key, target);
    this.open.add(connection);
    return connection;
  }

  /** Back to the idle list after a complete exchange (`now`: performance.now()). */
  release(connection: UpstreamConnection, keepAliveMs: number | undefined, now: number): void {
    connection.user = undefined;
    connection.reused = true;
    if (keepAliveMs !== undefined) connection.expiresAt = now + keepAliveMs - 1000;
    let list = this.idle.get(connection.key);
    if (list === undefined) {
      list = [];
      this.idle.set(connection.key, list);
    }
    if (list.length < MAX_IDLE_PER_TARGET) list.push(connection);
    else connection.socket.destroy();
  }

  forget(connection: UpstreamConnection): void {
    this.open.delete(connection);
    const list = this.idle.get(connection.key);
    if (list === undefined) return;
    const at = list.indexOf(connection);
    if (at >= 0) list.splice(at, 1);
    if (list.length === 0) this.idle.delete(connection.key);
  }

  destroy(): void {
    for (const connection of this.open) connection.socket.destroy();
    this.open.clear();
    this.idle.clear();
  }
}
