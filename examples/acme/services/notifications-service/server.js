// notifications-service: sends e-mail, push and SMS notifications. POST /notify records the
// notification in PostgreSQL and queues it on a Redis list for the senders, in one step: if the
// queue cannot take it, the row is rolled back and the caller gets a 503.
import { HttpError, startService } from './service-kit.js';

const CHANNELS = ['email', 'push', 'sms'];

const schema = [
  `CREATE TABLE IF NOT EXISTS notifications (
     id         bigserial PRIMARY KEY,
     recipient  text NOT NULL,
     channel    text NOT NULL CHECK (channel IN ('email', 'push', 'sms')),
     message    text NOT NULL,
     status     text NOT NULL DEFAULT 'queued',
     created_at timestamptz NOT NULL DEFAULT now()
   )`,
];

function toNotification(row) {
  return { id: Number(row.id), to: row.recipient, channel: row.channel, message: row.message, status: row.status, created_at: row.created_at.toISOString() };
}

function parseNotification(body) {
  const problems = [];
  const channel = body.channel ?? 'email';
  if (typeof body.to !== 'string' || body.to.trim() === '') problems.push('to must be a non-empty string');
  if (typeof body.message !== 'string' || body.message === '') problems.push('message must be a non-empty string');
  if (!CHANNELS.includes(channel)) problems.push(`channel must be one of ${CHANNELS.join(', ')}`);
  if (problems.length) throw new HttpError(400, 'INVALID_NOTIFICATION', problems.join('; '), { problems });
  return { to: body.to.trim(), message: body.message, channel };
}

await startService({
  name: 'notifications-service',
  baseUrl: import.meta.url,
  schema,
  routes: [
    {
      method: 'POST',
      path: '/notify',
      async handler(ctx, { body }) {
        const n = parseNotification(body);
        const redis = ctx.requireRedis();
        const queueKey = ctx.key('queue');
        const { notification, queueLength } = await ctx.transaction(async (client) => {
          const { rows } = await client.query('INSERT INTO notifications (recipient, channel, message) VALUES ($1, $2, $3) RETURNING *', [n.to, n.channel, n.message]);
          const notification = toNotification(rows[0]);
          const queueLength = await redis.lpush(queueKey, JSON.stringify(notification));
          return { notification, queueLength };
        });
        return { status: 202, body: { ...notification, queueLength } };
      },
    },
    {
      method: 'GET',
      path: '/notifications',
      async handler(ctx, { query }) {
        const limit = Math.min(Math.max(Number.parseInt(query.get('limit') ?? '50', 10) || 50, 1), 500);
        const { rows } = await ctx.query('SELECT * FROM notifications ORDER BY id DESC LIMIT $1', [limit]);
        const queued = ctx.redis ? await ctx.redis.llen(ctx.key('queue')) : null;
        return { body: { queued, notifications: rows.map(toNotification) } };
      },
    },
  ],
});
