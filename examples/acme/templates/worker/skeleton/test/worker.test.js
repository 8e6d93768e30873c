// `npm test` (node --test): the worker takes queued jobs from Redis and reports itself on /health.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { redisConnect } from '../src/redis.js';
import { startWorker } from '../src/worker.js';

async function start(env) {
  const w = startWorker({ env, intervalMs: 20 });
  await new Promise((resolve) => w.health.listen(0, '127.0.0.1', resolve));
  return { ...w, base: `http://127.0.0.1:${w.health.address().port}` };
}

async function until(what, check, timeoutMs = 5000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('/health and /metrics answer without Redis (a heartbeat)', async () => {
  const w = await start({});
  try {
    await until('the first run', () => w.worker.stats.lastRunAt);
    const res = await fetch(`${w.base}/health`);
    assert.equal(res.status, 200);
    assert.equal((await res.json()).status, 'ok');
    assert.match(await (await fetch(`${w.base}/metrics`)).text(), /^worker_jobs_processed_total 0$/m);
  } finally {
    await w.stop();
  }
});

test('/health answers 503 when Redis cannot be reached', async () => {
  const w = await start({ REDIS_URL: 'redis://127.0.0.1:1' });
  try {
    await until('a failed run', () => w.worker.stats.lastError);
    assert.equal((await fetch(`${w.base}/health`)).status, 503);
  } finally {
    await w.stop();
  }
});

// Needs a Redis (REDIS_URL, or one on 127.0.0.1:6379); without one this test is skipped.
test('queued jobs are processed', async (t) => {
  const url = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
  const redis = await redisConnect(url).catch(() => undefined);
  if (!redis) return t.skip(`no Redis at ${url}`);
  const prefix = `worker-test-${randomBytes(4).toString('hex')}:`;
  try {
    await redis.command('RPUSH', `${prefix}jobs`, '{"n":1}', '{"n":2}');
    const w = await start({ REDIS_URL: url, REDIS_KEY_PREFIX: prefix });
    try {
      await until('two jobs', () => w.worker.stats.processed === 2);
      assert.equal(await redis.command('LLEN', `${prefix}jobs`), 0);
    } finally {
      await w.stop();
    }
  } finally {
    await redis.command('DEL', `${prefix}jobs`, `${prefix}jobs:failed`);
    redis.close();
  }
});
