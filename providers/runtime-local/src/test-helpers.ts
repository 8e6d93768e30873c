// Helpers shared by this package's tests: a tiny service written into a temp dir, HTTP requests
// with a chosen Host header, and a short wait for what the supervisor and proxy do.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GiveUp, waitUntil } from '../../../test/support/wait.ts';

/** A node HTTP service like the ones developers deploy: listens on PORT, answers /health. */
export const SERVICE_SOURCE = `
const http = require('node:http');
const version = process.env.VERSION || 'v0';
const server = http.createServer((req, res) => {
  if (req.url === '/health') { res.end('ok'); return; }
  if (req.url === '/fail') { res.statusCode = 500; res.end('failing'); return; }
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ version, pid: process.pid, port: process.env.PORT, inheritedVitest: process.env.VITEST !== undefined }));
});
server.listen(Number(process.env.PORT), () => {
  console.log('listening on ' + process.env.PORT + ' as ' + version);
  console.error('stderr of ' + version);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

/** Ignores SIGTERM: only SIGKILL stops it. */
export const STUBBORN_SOURCE = `
const http = require('node:http');
process.on('SIGTERM', () => console.log('ignoring SIGTERM'));
http.createServer((req, res) => res.end('stubborn')).listen(Number(process.env.PORT), () => console.log('node pid ' + process.pid));
`;

export interface TempDir {
  dir: string;
  write(name: string, content: string): string;
  remove(): void;
}

export function tempDir(prefix = 'idp-runtime-'): TempDir {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return {
    dir,
    write(name, content) {
      const file = join(dir, name);
      writeFileSync(file, content);
      return file;
    },
    remove() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

const agent = new Agent({ keepAlive: true, maxSockets: 32 });

/** One request to 127.0.0.1:port with the given Host header. */
export function httpRequest(
  port: number,
  host: string,
  path = '/',
  options: { method?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', agent, headers: { host, ...options.headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/**
 * Calls `fn` every `pollMs` ms until it returns something other than undefined or false, and
 * returns that (waitUntil underneath). An error `fn` throws fails the wait at once.
 */
export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 5000,
  pollMs = 20,
): Promise<T> {
  const found = await waitUntil(
    what,
    async () => {
      let value: T | undefined | false;
      try {
        value = await fn();
      } catch (err) {
        throw new GiveUp(`${what}: ${(err as Error).message}`, { cause: err });
      }
      // Wrapped: null counts as found here, where waitUntil would take it for not yet.
      return value === undefined || value === false ? undefined : { value };
    },
    { timeout: timeoutMs, interval: pollMs },
  ).catch((err: unknown) => {
    throw err instanceof GiveUp && err.cause !== undefined ? err.cause : err;
  });
  return found.value;
}
