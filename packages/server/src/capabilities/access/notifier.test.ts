import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { WebhookNotifier } from './notifier.ts';

let server: Server | undefined;
afterEach(() => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

async function receiver(statuses: number[]): Promise<{ url: string; bodies: unknown[] }> {
  const bodies: unknown[] = [];
  server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      bodies.push(JSON.parse(body));
      res.statusCode = statuses.shift() ?? 200;
      res.end();
    });
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as { port: number };
  return { url: `http://127.0.0.1:${port}/services/T000/B000/XXXX`, bodies };
}

describe('WebhookNotifier', () => {
  it('returns at once, retries 5xx with backoff, and delivers', async () => {
    const { url, bodies } = await receiver([503, 500]);
    const logs: string[] = [];
    const n = new WebhookNotifier(url, (l) => logs.push(l), { baseDelayMs: 10 });
    n.notify({ text: 'hello' });
    // Nothing was delivered yet when notify returned: the caller never waits for the webhook.
    expect(bodies).toHaveLength(0);
    await n.idle();
    expect(bodies).toEqual([{ text: 'hello' }, { text: 'hello' }, { text: 'hello' }]);
    expect(logs).toEqual([]);
  });

  it('gives up after the last attempt and logs without the URL path (Slack webhook URLs are secrets)', async () => {
    const { url, bodies } = await receiver([500, 500, 500]);
    const logs: string[] = [];
    const n = new WebhookNotifier(url, (l) => logs.push(l), { attempts: 3, baseDelayMs: 5 });
    n.notify({ text: 'x' });
    await n.idle();
    expect(bodies).toHaveLength(3);
    expect(logs).toHaveLength(1);
    expect(logs[0]).toContain('HTTP 500');
    expect(logs[0]).not.toContain('/services/');
  });

  it('does not retry a 4xx, and close() cancels pending retries', async () => {
    const { url, bodies } = await receiver([400]);
    const n = new WebhookNotifier(url, () => {}, { baseDelayMs: 5 });
    n.notify({ text: 'x' });
    await n.idle();
    expect(bodies).toHaveLength(1);

    // Counts the attempts that failed: after the first, the notifier waits 60 s before the next.
    let failedAttempts = 0;
    const unreachable = new WebhookNotifier('http://127.0.0.1:1/hook', () => {}, {
      baseDelayMs: 60_000,
      fetch: (input, init) =>
        globalThis.fetch(input, init).catch((err: unknown) => {
          failedAttempts++;
          throw err;
        }),
    });
    unreachable.notify({ text: 'x' });
    const t = Date.now();
    await expect.poll(() => failedAttempts, { timeout: 5000, interval: 10 }).toBe(1);
    await unreachable.close();
    expect(Date.now() - t).toBeLessThan(5000);
  });
});
