// payments-api: takes payments for checkout. Rows live in PostgreSQL; the total count is cached
// in Redis and dropped whenever a payment is taken.
import { HttpError, startService } from './service-kit.js';

const COUNT_TTL_SECONDS = 60;

// The same table as examples/acme/seed/staging.sql (there user_id also references users-api's
// users table, which an empty database may not have yet): one schema on staging, its clones and a
// fresh database.
const schema = [
  `CREATE TABLE IF NOT EXISTS payments (
     id           bigserial PRIMARY KEY,
     user_id      bigint,
     amount_cents integer NOT NULL CHECK (amount_cents > 0),
     currency     char(3) NOT NULL DEFAULT 'EUR',
     description  text,
     status       text NOT NULL DEFAULT 'captured',
     created_at   timestamptz NOT NULL DEFAULT now()
   )`,
];

function toPayment(row) {
  return {
    id: Number(row.id),
    amount_cents: row.amount_cents,
    currency: row.currency,
    user_id: row.user_id === null ? null : String(row.user_id),
    description: row.description,
    status: row.status,
    created_at: row.created_at.toISOString(),
  };
}

function parseNewPayment(body) {
  const problems = [];
  if (!Number.isInteger(body.amount_cents) || body.amount_cents <= 0) problems.push('amount_cents must be a positive integer');
  if (typeof body.currency !== 'string' || !/^[A-Z]{3}$/.test(body.currency)) problems.push('currency must be an ISO 4217 code such as EUR');
  // A users-api user id: bigint in PostgreSQL, a string of digits in JSON (as users-api's ids are read back).
  if (body.user_id !== undefined && (typeof body.user_id !== 'string' || !/^[1-9]\d{0,17}$/.test(body.user_id))) problems.push('user_id must be a user id, a string of digits such as "1"');
  if (body.description !== undefined && typeof body.description !== 'string') problems.push('description must be a string');
  if (problems.length) throw new HttpError(400, 'INVALID_PAYMENT', problems.join('; '), { problems });
  return body;
}

/** The payment count from Redis, or from PostgreSQL (then cached). Redis being down only costs the cache. */
async function paymentCount(ctx) {
  const key = ctx.key('payments:count');
  if (ctx.redis) {
    try {
      const cached = await ctx.redis.get(key);
      if (cached !== null) return { count: Number(cached), cache: 'hit' };
    } catch (err) {
      ctx.log('warn', `count cache unavailable: ${err.message}`);
      const { rows } = await ctx.query('SELECT count(*)::int AS n FROM payments');
      return { count: rows[0].n, cache: 'error' };
    }
  }
  const { rows } = await ctx.query('SELECT count(*)::int AS n FROM payments');
  if (!ctx.redis) return { count: rows[0].n, cache: 'off' };
  await ctx.redis.set(key, String(rows[0].n), 'EX', COUNT_TTL_SECONDS).catch((err) => ctx.log('warn', `count cache not written: ${err.message}`));
  return { count: rows[0].n, cache: 'miss' };
}

await startService({
  name: 'payments-api',
  baseUrl: import.meta.url,
  schema,
  routes: [
    {
      method: 'GET',
      path: '/payments',
      async handler(ctx, { query }) {
        const limit = Math.min(Math.max(Number.parseInt(query.get('limit') ?? '50', 10) || 50, 1), 500);
        const { rows } = await ctx.query('SELECT * FROM payments ORDER BY id DESC LIMIT $1', [limit]);
        const { count, cache } = await paymentCount(ctx);
        return { body: { count, payments: rows.map(toPayment) }, headers: { 'x-cache': cache } };
      },
    },
    {
      method: 'GET',
      path: '/payments/:id',
      async handler(ctx, { params }) {
        if (!/^[1-9]\d{0,17}$/.test(params.id)) throw new HttpError(400, 'INVALID_ID', 'a payment id is a positive integer');
        const { rows } = await ctx.query('SELECT * FROM payments WHERE id = $1', [params.id]);
        if (!rows[0]) throw new HttpError(404, 'PAYMENT_NOT_FOUND', `no payment ${params.id}`);
        return { body: toPayment(rows[0]) };
      },
    },
    {
      method: 'POST',
      path: '/payments',
      async handler(ctx, { body }) {
        const p = parseNewPayment(body);
        let rows;
        try {
          ({ rows } = await ctx.query(
            'INSERT INTO payments (amount_cents, currency, user_id, description) VALUES ($1, $2, $3, $4) RETURNING *',
            [p.amount_cents, p.currency, p.user_id ?? null, p.description ?? null],
          ));
        } catch (err) {
          // 23503: where payments.user_id references users (staging and its clones), the user must exist.
          if (err.code === '23503') throw new HttpError(400, 'INVALID_PAYMENT', `user_id ${p.user_id} is not a known user`, { problems: ['user_id must name an existing user'] });
          throw err;
        }
        // Drop the cached count rather than bump it: bumping races with a concurrent miss caching the old count.
        await ctx.redis?.del(ctx.key('payments:count')).catch((err) => ctx.log('warn', `count cache not cleared: ${err.message}`));
        return { status: 201, body: toPayment(rows[0]) };
      },
    },
  ],
});
