// Forwarding an HTTP upgrade (e.g. WebSocket) to a backend replica and piping the two sockets.
import { request, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { errorBody } from './proxy-replies.ts';
import type { ProxyTarget } from './proxy-types.ts';
import type { Backend } from './route-table.ts';

/** Answer an upgrade request the proxy cannot serve, in the API's error envelope, and close. */
export function refuseUpgrade(socket: Duplex, status: string, code: string, message: string): void {
  const body = errorBody(code, message);
  socket.end(
    `HTTP/1.1 ${status}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`,
  );
}

export interface UpgradeForward {
  req: IncomingMessage;
  socket: Duplex;
  head: Buffer;
  host: string | undefined;
  backend: Backend;
  target: ProxyTarget;
  forwardedPort: string;
  started: number;
}

/** Send the upgrade to the replica; on 101 pipe both ways, otherwise relay its answer and close. */
export function forwardUpgrade({
  req,
  socket,
  head,
  host,
  backend,
  target,
  forwardedPort,
  started,
}: UpgradeForward): void {
  const headers = req.headers;
  const prior = headers['x-forwarded-for'];
  const client = req.socket.remoteAddress ?? '';
  headers['x-forwarded-for'] = prior === undefined ? client : `${prior}, ${client}`;
  headers['x-forwarded-host'] = host;
  headers['x-forwarded-proto'] = 'http';
  headers['x-forwarded-port'] = forwardedPort;
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
    refuseUpgrade(
      socket,
      '502 Bad Gateway',
      'PROXY_BAD_GATEWAY',
      `replica ${target.host}:${target.port} of ${backend.release} failed`,
    );
  });
  upstream.end();
}
