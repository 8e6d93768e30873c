// A background worker (no npm dependencies): takes jobs from the environment's Redis (REDIS_URL,
// keys under REDIS_KEY_PREFIX) and answers only /health and /metrics on PORT, which the platform
// needs to check each replica and Prometheus to scrape it.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createWorker } from './jobs.js';
import { redisConnect } from './redis.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
/** A worker whose loop has not run for this long is reported unhealthy. */
const STALL_MS = 30_000;

function log(level, msg, fields = {}) {
  const line = JSON.stringify({ time: new Date().toISOString(), level, service: pkg.name, msg, ...fields });
  (level === 'error' ? process.stderr : process.stdout).write(`${line}\n`);
}

function redisUser(url) {
  if (!url) return undefined;
  let client;
  let closed = false;
  const close = () => {
    closed = true;
    client?.then((c) => c.close(), () => {});
    client = undefined;
  };
  const use = async (fn) => {
    if (closed) throw new Error('stopped');
    client ??= redisConnect(url);
    try {
      return await fn(await client);
    } catch (err) {
      client?.then((c) => c.close(), () => {});
      client = undefined;
      throw err;
    }
  };
  return Object.assign(use, { close });
}

export function startWorker({ env = process.env, intervalMs = 1000 } = {}) {
  const prefix = env.REDIS_KEY_PREFIX ?? '';
  const redis = redisUser(env.REDIS_URL);
  const worker = createWorker({ redis, key: (k) => `${prefix}${k}`, intervalMs, log });
  const health = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const s = worker.stats;
    if (path === '/health') {
      const stalled = !s.lastRunAt || Date.now() - Date.parse(s.lastRunAt) > STALL_MS;
      const ok = s.running && !stalled && !s.lastError;
      res.writeHead(ok || !s.lastRunAt ? 200 : 503, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ status: ok || !s.lastRunAt ? 'ok' : 'failing', service: pkg.name, ...s }));
    } else if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(
        [
          '# HELP worker_jobs_processed_total Jobs done.',
          '# TYPE worker_jobs_processed_total counter',
          `worker_jobs_processed_total ${s.processed}`,
          '# HELP worker_jobs_failed_total Jobs that failed (moved to the jobs:failed list).',
          '# TYPE worker_jobs_failed_total counter',
          `worker_jobs_failed_total ${s.failed}`,
          '# HELP worker_last_run_timestamp_seconds When the loop last ran.',
          '# TYPE worker_last_run_timestamp_seconds gauge',
          `worker_last_run_timestamp_seconds ${s.lastRunAt ? Date.parse(s.lastRunAt) / 1000 : 0}`,
          '',
        ].join('\n'),
      );
    } else {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"NOT_FOUND"}');
    }
  });
  worker.start();
  return {
    worker,
    health,
    stop: () =>
      new Promise((resolve) => {
        worker.stop();
        redis?.close();
        health.close(resolve);
      }),
  };
}

// Started as `node src/worker.js` (not when a test imports it).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const w = startWorker();
  const port = Number(process.env.PORT ?? 3000);
  w.health.listen(port, () => log('info', 'worker started', { healthPort: port }));
  const stop = () => w.stop().then(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
