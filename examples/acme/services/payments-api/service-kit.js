// service-kit.js: the small runtime every Acme sample service shares (HTTP routing, PostgreSQL,
// Redis, /health, the fault switch, graceful shutdown). Each service folder carries its own copy
// because a release is built from that folder alone; test/e2e/acme-services.test.ts checks that
// the copies stay identical, so change them together.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';

const HEALTH_TIMEOUT_MS = 1500;
const MAX_BODY_BYTES = 64 * 1024;
// Rates are compared as integers (parts per million) so that e.g. 0.29 × 100 is exactly 29
// failures, not 28 after floating-point rounding.
const RATE_SCALE = 1_000_000;

/** An error with an HTTP status and a stable UPPER_SNAKE code, rendered as the error envelope. */
export class HttpError extends Error {
  constructor(status, code, message, details) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

/**
 * The fault switch: fault.json next to server.js, overridden by env.
 *   errorRate  (FAULT_ERROR_RATE, 0..1) the share of non-/health requests answered 500
 *   failHealth (FAULT_HEALTH=fail)       /health answers 500
 *   crash      (FAULT_CRASH=1)           the process exits with code 1 as soon as it starts
 */
export function loadFaults(baseUrl, env = process.env) {
  let file = {};
  try {
    file = JSON.parse(readFileSync(new URL('./fault.json', baseUrl), 'utf8'));
  } catch (err) {
    if (err.code !== 'ENOENT') throw new Error(`fault.json is not valid JSON: ${err.message}`);
  }
  if (file === null || typeof file !== 'object' || Array.isArray(file)) throw new Error('fault.json must be a JSON object');
  const unknown = Object.keys(file).filter((k) => !['errorRate', 'failHealth', 'crash'].includes(k));
  if (unknown.length > 0) throw new Error(`fault.json: unknown key(s) ${unknown.join(', ')} (expected errorRate, failHealth, crash)`);

  const rawRate = env.FAULT_ERROR_RATE !== undefined && env.FAULT_ERROR_RATE !== '' ? env.FAULT_ERROR_RATE : file.errorRate ?? 0;
  const source = env.FAULT_ERROR_RATE !== undefined && env.FAULT_ERROR_RATE !== '' ? 'FAULT_ERROR_RATE' : 'fault.json errorRate';
  const errorRate = typeof rawRate === 'string' && rawRate.trim() !== '' ? Number(rawRate) : rawRate;
  if (typeof errorRate !== 'number' || !Number.isFinite(errorRate) || errorRate < 0 || errorRate > 1) {
    throw new Error(`${source} must be a number from 0 to 1 (0.05 = 5% of requests fail), got ${JSON.stringify(rawRate)}`);
  }
  const failHealth = env.FAULT_HEALTH !== undefined && env.FAULT_HEALTH !== '' ? env.FAULT_HEALTH === 'fail' : file.failHealth === true;
  const crash = env.FAULT_CRASH !== undefined && env.FAULT_CRASH !== '' ? env.FAULT_CRASH === '1' || env.FAULT_CRASH === 'true' : file.crash === true;
  return { errorRate, failHealth, crash };
}

/**
 * Deterministic error injection: request n (1-based, every request but /health) fails when
 * floor(n × rate) steps up, so exactly floor(N × rate) of the first N requests fail, evenly
 * spread — 0.05 fails requests 20, 40, 60, …
 */
export function faultCounter(errorRate) {
  const perMillion = Math.round(errorRate * RATE_SCALE);
  let n = 0;
  return {
    next() {
      n += 1;
      return perMillion > 0 && (n * perMillion) % RATE_SCALE < perMillion;
    },
  };
}

function logLine(level, service, version, msg, fields = {}) {
  const line = JSON.stringify({ time: new Date().toISOString(), level, service, version, msg, ...fields });
  (level === 'error' || level === 'warn' ? process.stderr : process.stdout).write(`${line}\n`);
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Errors that mean "PostgreSQL is unreachable or refused us", as opposed to a bug in a query.
const PG_UNAVAILABLE = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', '57P01', '57P02', '57P03', '3D000', '28000', '28P01']);

function isUnavailable(err) {
  if (PG_UNAVAILABLE.has(err?.code)) return true;
  return /timeout exceeded when trying to connect|Connection terminated|Stream isn't writeable|Connection is closed|max retries per request|did not answer within/i.test(err?.message ?? '');
}

function compileRoute(route) {
  const parts = route.path.split('/').filter(Boolean);
  return {
    ...route,
    match(pathname) {
      const segs = pathname.split('/').filter(Boolean);
      if (segs.length !== parts.length) return null;
      const params = {};
      for (let i = 0; i < parts.length; i++) {
        if (parts[i].startsWith(':')) params[parts[i].slice(1)] = decodeURIComponent(segs[i]);
        else if (parts[i] !== segs[i]) return null;
      }
      return params;
    },
  };
}

async function readJson(req) {
  const chunks = [];
  let size = 0;
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'BODY_TOO_LARGE', `request body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new HttpError(400, 'INVALID_JSON', 'the request body is not valid JSON');
  }
}

/**
 * Starts a service. `routes` is [{method, path ('/users/:id'), handler(ctx, request)}]; a handler
 * gets {params, query, body, headers} and returns {status?, body, headers?} or throws HttpError.
 * `schema` is a list of idempotent SQL statements (CREATE TABLE IF NOT EXISTS …) run before the
 * first query.
 */
export async function startService({ name, baseUrl, schema = [], routes }) {
  const env = process.env;
  const pkg = JSON.parse(readFileSync(new URL('./package.json', baseUrl), 'utf8'));
  const version = env.IDP_RELEASE_VERSION || pkg.version;
  const log = (level, msg, fields) => logLine(level, name, version, msg, fields);

  let faults;
  try {
    faults = loadFaults(baseUrl, env);
  } catch (err) {
    log('error', `invalid fault switch: ${err.message}`);
    process.exit(1);
  }
  if (faults.crash) {
    log('error', 'FAULT_CRASH is set: exiting at once with code 1 (crash-loop demo)');
    process.exit(1);
  }

  // The drivers load only when used, so a crash-loop demo exits before it could do anything.
  const pg = env.DATABASE_URL ? (await import('pg')).default : null;
  const Redis = env.REDIS_URL ? (await import('ioredis')).default : null;

  const db = pg
    ? new pg.Pool({ connectionString: env.DATABASE_URL, max: 5, connectionTimeoutMillis: 2000, idleTimeoutMillis: 10_000, application_name: name })
    : null;
  // An idle connection dropped by the server (restart, DROP DATABASE … FORCE) must not crash us.
  db?.on('error', (err) => log('warn', `postgres connection lost: ${err.message}`));

  let redisError = null;
  const redis = Redis
    ? new Redis(env.REDIS_URL, {
        // The environment's keyspace is a prefix guarded by an ACL user limited to ~<prefix>*.
        keyPrefix: env.REDIS_KEY_PREFIX || undefined,
        // The ready check runs INFO, which a restricted ACL user may not be allowed to run.
        enableReadyCheck: false,
        connectTimeout: 2000,
        maxRetriesPerRequest: 1,
        retryStrategy: (times) => Math.min(times * 200, 2000),
      })
    : null;
  redis?.on('error', (err) => {
    if (redisError?.message !== err.message) log('warn', `redis: ${err.message}`);
    redisError = err;
  });
  redis?.on('ready', () => {
    if (redisError) log('info', 'redis: connected again');
    redisError = null;
  });

  let schemaReady = null;
  function ensureSchema() {
    if (!db) return Promise.resolve();
    schemaReady ??= (async () => {
      const client = await db.connect();
      try {
        // Replicas of every release start together; CREATE TABLE IF NOT EXISTS is not safe
        // against itself running concurrently, so they take turns.
        await client.query('BEGIN');
        await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`acme-schema:${name}`]);
        for (const statement of schema) await client.query(statement);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    })().catch((err) => {
      schemaReady = null; // try again on the next request
      throw err;
    });
    return schemaReady;
  }

  function requirePostgres() {
    if (!db) throw new HttpError(503, 'DEPENDENCY_NOT_CONFIGURED', 'DATABASE_URL is not set');
    return db;
  }
  function requireRedis() {
    if (!redis) throw new HttpError(503, 'DEPENDENCY_NOT_CONFIGURED', 'REDIS_URL is not set');
    return redis;
  }

  const ctx = {
    name,
    version,
    log,
    redis,
    /** A Redis key in this service's namespace (ioredis adds REDIS_KEY_PREFIX in front). */
    key: (suffix) => `${name}:${suffix}`,
    async query(sql, params) {
      const pool = requirePostgres();
      await ensureSchema();
      return pool.query(sql, params);
    },
    /** Runs fn(client) in a transaction. */
    async transaction(fn) {
      const pool = requirePostgres();
      await ensureSchema();
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn(client);
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        client.release();
      }
    },
    requireRedis,
  };

  const table = [
    { method: 'GET', path: '/', handler: () => ({ body: { service: name, version } }) },
    ...routes,
  ].map(compileRoute);

  async function check(configured, probe) {
    if (!configured) return { status: 'not configured' };
    const started = performance.now();
    try {
      await probe();
      return { status: 'ok', latencyMs: Math.round((performance.now() - started) * 10) / 10 };
    } catch (err) {
      return { status: 'failed', error: err.message };
    }
  }

  async function health() {
    if (faults.failHealth) {
      return { status: 500, body: { status: 'failing', service: name, version, reason: 'the fault switch is on (FAULT_HEALTH=fail or fault.json failHealth)' } };
    }
    const [postgres, redisCheck] = await Promise.all([
      check(db, () => withTimeout(ensureSchema().then(() => db.query('SELECT 1')), HEALTH_TIMEOUT_MS, 'PostgreSQL')),
      check(redis, async () => {
        // Known to be down: say so now rather than after the reconnect back-off.
        if (redisError && redis.status !== 'ready') throw redisError;
        try {
          await withTimeout(redis.ping(), HEALTH_TIMEOUT_MS, 'Redis');
        } catch (err) {
          // The connection error says more than "max retries per request reached".
          throw redisError ?? err;
        }
      }),
    ]);
    const checks = { postgres, redis: redisCheck };
    const failed = Object.keys(checks).filter((k) => checks[k].status === 'failed');
    return {
      status: failed.length ? 503 : 200,
      body: failed.length ? { status: 'error', service: name, version, failed, checks } : { status: 'ok', service: name, version, checks },
    };
  }

  const counter = faultCounter(faults.errorRate);

  async function handle(req, res) {
    const url = new URL(req.url ?? '/', 'http://service.local');
    if (url.pathname === '/health' && (req.method === 'GET' || req.method === 'HEAD')) return health();
    if (counter.next()) {
      throw new HttpError(500, 'FAULT_INJECTED', `${name} ${version}: request failed on purpose (fault switch, errorRate ${faults.errorRate})`);
    }
    let pathMatched = false;
    for (const route of table) {
      const params = route.match(url.pathname);
      if (!params) continue;
      pathMatched = true;
      if (route.method !== req.method) continue;
      const body = req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH' ? await readJson(req) : undefined;
      return route.handler(ctx, { params, query: url.searchParams, body, headers: req.headers });
    }
    if (pathMatched) throw new HttpError(405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${url.pathname}`);
    throw new HttpError(404, 'NOT_FOUND', `no route for ${req.method} ${url.pathname}`);
  }

  function send(res, status, body, headers = {}) {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'x-service-version': version, ...headers });
    res.end(text);
  }

  const server = createServer((req, res) => {
    handle(req, res).then(
      (out) => send(res, out.status ?? 200, out.body, out.headers),
      (err) => {
        if (err instanceof HttpError) return send(res, err.status, { error: { code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) } });
        if (isUnavailable(err)) {
          log('warn', `dependency unavailable: ${err.message}`);
          return send(res, 503, { error: { code: 'DEPENDENCY_UNAVAILABLE', message: err.message } });
        }
        log('error', `unhandled error on ${req.method} ${req.url}: ${err.stack ?? err}`);
        return send(res, 500, { error: { code: 'INTERNAL', message: 'internal error' } });
      },
    );
  });
  server.keepAliveTimeout = 65_000;

  // Create the tables now so the first request is fast; a failure is retried on demand.
  ensureSchema().catch((err) => log('warn', `schema not ready yet: ${err.message}`));

  const port = Number(env.PORT ?? 3000);
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, env.HOST || undefined, resolve);
  });
  log('info', `listening on port ${server.address().port}`, {
    port: server.address().port,
    postgres: db ? 'configured' : 'not configured',
    redis: redis ? 'configured' : 'not configured',
    redisKeyPrefix: env.REDIS_KEY_PREFIX || '',
    faults,
  });

  let stopping = false;
  async function stop(signal) {
    if (stopping) return;
    stopping = true;
    log('info', `${signal}: shutting down`);
    const force = setTimeout(() => process.exit(0), 5000);
    force.unref();
    server.close();
    server.closeIdleConnections();
    // QUIT waits for a connection that may never come back; only a live one gets a polite goodbye.
    await Promise.allSettled([db?.end(), redis?.status === 'ready' ? redis.quit() : redis?.disconnect()]);
    process.exit(0);
  }
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  return { server, ctx };
}
