// Answers the edge proxy makes itself (no route, no healthy replica, backend failure), in the API's error envelope.
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http';

export function errorBody(code: string, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

/** An answer the proxy makes itself, in the API's error envelope. */
export function replyError(
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
