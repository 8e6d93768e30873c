// Shared by the secrets*/access* end-to-end tests: secret values that are easy to grep for, a
// fake clock, a webhook receiver, stderr capture, a copy of the demo org with extra config, and
// the scan that proves no value reached the disk or the logs.
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ACME_CONFIG, ROOT } from '../support/server.ts';
import { waitUntil } from '../support/wait.ts';

// Moved to test/support/tokens.ts; still exported here for the files that import it from here.
export { userTokens } from '../support/tokens.ts';

/** Every value a test stores; the leak scan looks for each of them. */
export class SecretValues {
  readonly all: string[] = [];

  /** A value no other test run could contain: `sv-<label>-<random hex>`. */
  make(label: string): string {
    const value = `sv-${label}-${randomBytes(10).toString('hex')}`;
    this.all.push(value);
    return value;
  }
}

export interface FakeClock {
  now(): Date;
  advance(seconds: number): void;
  set(iso: string): void;
}

export function fakeClock(start = Date.now()): FakeClock {
  let t = start;
  return {
    now: () => new Date(t),
    advance(seconds) {
      t += seconds * 1000;
    },
    set(iso) {
      t = Date.parse(iso);
    },
  };
}

/** A copy of examples/acme whose config has `extra` YAML appended (e.g. an access section). */
export function acmeWith(extra: string): { dir: string; config: string } {
  const dir = mkdtempSync(join(tmpdir(), 'idp-acme-'));
  cpSync(join(ROOT, 'examples/acme'), dir, { recursive: true });
  const config = join(dir, 'idp.config.yaml');
  writeFileSync(config, `${readFileSync(ACME_CONFIG, 'utf8')}\n${extra}\n`);
  return { dir, config };
}

export interface Receiver {
  url: string;
  received: { headers: Record<string, unknown>; body: any; at: number }[];
  /** Every delivery ever, even after a test emptied `received`. */
  all: unknown[];
  /** Statuses for the next deliveries, in order; 200 after they run out. */
  failNext(...statuses: number[]): void;
  /** Resolves once `n` deliveries in all have arrived (or rejects after `ms`). */
  waitFor(n: number, ms?: number): Promise<void>;
  close(): Promise<void>;
}

/** A local HTTP server that records what a Slack-compatible webhook would have received. */
export async function webhookReceiver(): Promise<Receiver> {
  const received: Receiver['received'] = [];
  const all: unknown[] = [];
  const statuses: number[] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (d) => (text += d));
    req.on('end', () => {
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        /* recorded as text */
      }
      received.push({ headers: req.headers, body, at: Date.now() });
      all.push(body);
      res.statusCode = statuses.shift() ?? 200;
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}/hooks/T0001/B0001/abc`,
    received,
    all,
    failNext: (...s) => statuses.push(...s),
    async waitFor(n, ms = 30_000) {
      await waitUntil(
        `${n} webhook deliveries`,
        () => {
          if (received.length < n) throw new Error(`webhook got ${received.length} deliveries`);
          return true;
        },
        { timeout: ms, interval: 20 },
      );
    },
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

/**
 * Records everything written to this process's stderr (Fastify's logger writes there) instead of
 * printing it: debug-level request logs would drown the test report.
 */
export function captureStderr(): { text(): string; restore(): void } {
  const chunks: string[] = [];
  const original = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: unknown, ...rest: unknown[]) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
    const done = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
    done?.();
    return true;
  }) as typeof process.stderr.write;
  return { text: () => chunks.join(''), restore: () => (process.stderr.write = original) };
}

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}

/** Where any of `values` occurs in the files under `dirs` (SQLite, its WAL and shm, keys) or in `logs`. */
export function findLeaks(values: readonly string[], dirs: readonly string[], logs: readonly string[]): string[] {
  const hits: string[] = [];
  for (const dir of dirs) {
    for (const file of filesUnder(dir)) {
      const bytes = readFileSync(file);
      for (const v of values) if (bytes.includes(Buffer.from(v, 'utf8'))) hits.push(`${file}: ${v}`);
    }
  }
  logs.forEach((text, i) => {
    for (const v of values) if (text.includes(v)) hits.push(`log #${i}: ${v}`);
  });
  return hits;
}
