import { describe, expect, it } from 'vitest';
import { startTestServer } from '../support/server.ts';

// A follower holds its connection open for as long as the client wants; stopping the server must
// not wait for it: the logs routes end every follow before the HTTP server closes.

describe('log followers and server shutdown', () => {
  it('stopping the server ends open follows at once', async () => {
    const server = await startTestServer();
    const res = await fetch(`${server.url}/api/observability/logs?service=payments-api&env=staging&follow=true`, {
      headers: { authorization: `Bearer ${server.adminToken}` },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    expect(first).toMatch(/^: /);
    const started = performance.now();
    await server.stop();
    expect(performance.now() - started).toBeLessThan(5000);
    let ended = false;
    for (;;) {
      const chunk = await reader.read().catch(() => ({ done: true }));
      if (chunk.done) {
        ended = true;
        break;
      }
    }
    expect(ended).toBe(true);
  }, 30_000);
});
