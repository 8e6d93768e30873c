// `npm test` (node --test): the service answers /health and /metrics, with and without its dependencies.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createApp } from '../src/server.js';

async function start(env) {
  const server = createApp({ env });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${server.address().port}`;
  return { base, close: () => new Promise((resolve) => server.close(resolve)) };
}

test('/health answers 200 and reports dependencies that are not configured', async () => {
  const app = await start({});
  try {
    const res = await fetch(`${app.base}/health`);
    assert.equal(res.status, 200);
    const body = await res.json();
    assert.equal(body.status, 'ok');
    assert.deepEqual(body.checks, { postgres: 'not configured', redis: 'not configured' });
  } finally {
    await app.close();
  }
});

test('/health answers 503 naming the dependency that cannot be reached', async () => {
  const app = await start({ REDIS_URL: 'redis://127.0.0.1:1' });
  try {
    const res = await fetch(`${app.base}/health`);
    assert.equal(res.status, 503);
    const body = await res.json();
    assert.match(body.checks.redis, /^error: /);
    assert.equal(body.checks.postgres, 'not configured');
  } finally {
    await app.close();
  }
});

test('/metrics counts requests in Prometheus text format', async () => {
  const app = await start({});
  try {
    await fetch(`${app.base}/`);
    await fetch(`${app.base}/nope`);
    const res = await fetch(`${app.base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type'), /^text\/plain/);
    const text = await res.text();
    assert.match(text, /^# TYPE http_requests_total counter$/m);
    assert.match(text, /^http_requests_total\{method="GET",route="\/",status="200"\} 1$/m);
    assert.match(text, /^http_requests_total\{method="GET",route="unmatched",status="404"\} 1$/m);
    assert.match(text, /^http_request_duration_seconds_count\{method="GET",route="\/"\} 1$/m);
  } finally {
    await app.close();
  }
});
