// The service: a plain Node.js HTTP server (no npm dependencies) on PORT, using the environment's
// PostgreSQL (DATABASE_URL) and Redis (REDIS_URL, keys under REDIS_KEY_PREFIX) that idp hands
// every replica. GET /health for the platform's health checks, GET /metrics for Prometheus.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { createMetrics } from './metrics.js';
import { pgConnect } from './postgres.js';
import { redisConnect } from './redis.js';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const CHECK_TIMEOUT_MS = 1500;

function log(level, msg, fields = {}) {
  const line = JSON.stringify({ time: new Date().toISOString(), level, service: pkg.name, msg, ...fields });
  (level === 'error' ? process.stderr : process.stdout).write(`${line}\n`);
}

/** The dependencies this service uses; each is connected lazily and reconnected after an error. */
export function createDependencies(env = process.env) {
  let pg;
  let redis;
  const prefix = env.REDIS_KEY_PREFIX ?? '';
  const reset = (which) => {
    if (which === 'pg') pg?.then((c) => c.close(), () => {}), (pg = undefined);
    else redis?.then((c) => c.close(), () => {}), (redis = undefined);
  };
  const usePg = async (fn) => {
    pg ??= pgConnect(env.DATABASE_URL, { timeoutMs: CHECK_TIMEOUT_MS });
    try {
      return await fn(await pg);
    } catch (err) {
      reset('pg');
      throw err;
    }
  };
  const useRedis = async (fn) => {
    redis ??= redisConnect(env.REDIS_URL, { timeoutMs: CHECK_TIMEOUT_MS });
    try {
      return await fn(await redis);
    } catch (err) {
      reset('redis');
      throw err;
    }
  };
  return {
    postgres: env.DATABASE_URL ? usePg : undefined,
    redis: env.REDIS_URL ? useRedis : undefined,
    key: (name) => `${prefix}${name}`,
    close() {
      reset('pg');
      reset('redis');
    },
  };
}

/** Each configured dependency answers, or says why not; an unconfigured one is reported as such. */
async function checks(deps) {
  const run = async (use, fn) => {
    if (!use) return 'not configured';
    try {
      await use(fn);
      return 'ok';
    } catch (err) {
      return `error: ${err.message}`;
    }
  };
  const [postgres, redis] = await Promise.all([
    run(deps.postgres, (c) => c.query('SELECT 1')),
    run(deps.redis, (c) => c.command('PING')),
  ]);
  return { postgres, redis };
}

export function createApp({ env = process.env } = {}) {
  const deps = createDependencies(env);
  const metrics = createMetrics();
  const routes = {
    'GET /health': async () => {
      const c = await checks(deps);
      const ok = Object.values(c).every((v) => v === 'ok' || v === 'not configured');
      return [ok ? 200 : 503, { status: ok ? 'ok' : 'failing', service: pkg.name, checks: c }];
    },
    'GET /': async () => {
      const visits = deps.redis ? await deps.redis((c) => c.command('INCR', deps.key('visits'))) : null;
      const [row] = deps.postgres ? await deps.postgres((c) => c.query('SELECT now()::text AS now')) : [];
      return [
        200,
        { service: pkg.name, version: env.IDP_RELEASE_VERSION ?? pkg.version, visits, databaseTime: row?.now ?? null },
      ];
    },
  };
  const server = createServer(async (req, res) => {
    const started = process.hrtime.bigint();
    const path = (req.url ?? '/').split('?')[0];
    const key = `${req.method} ${path}`;
    let status = 404;
    let route = 'unmatched';
    try {
      if (key === 'GET /metrics') {
        status = 200;
        route = '/metrics';
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metrics.render());
        return;
      }
      const handler = routes[key];
      if (!handler) {
        res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'NOT_FOUND', path }));
        return;
      }
      route = path;
      const [code, body] = await handler(req);
      status = code;
      res.writeHead(code, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    } catch (err) {
      status = 500;
      log('error', 'request failed', { path, error: err.message });
      res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'INTERNAL' }));
    } finally {
      metrics.observe(req.method, route, status, Number(process.hrtime.bigint() - started) / 1e9);
    }
  });
  server.on('close', () => deps.close());
  return server;
}

// Started as `node src/server.js` (not when a test imports it).
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = createApp();
  const port = Number(process.env.PORT ?? 3000);
  server.listen(port, () => log('info', 'listening', { port }));
  const stop = () => server.close(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
