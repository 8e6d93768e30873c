// users-api: users and profiles. Rows live in PostgreSQL; GET /users/:id reads through a Redis
// cache that a profile change would drop.
import { HttpError, startService } from './service-kit.js';

const USER_TTL_SECONDS = 60;

const schema = [
  `CREATE TABLE IF NOT EXISTS users (
     id         bigserial PRIMARY KEY,
     email      text NOT NULL UNIQUE,
     name       text NOT NULL,
     created_at timestamptz NOT NULL DEFAULT now()
   )`,
];

function toUser(row) {
  return { id: Number(row.id), email: row.email, name: row.name, created_at: row.created_at.toISOString() };
}

function parseNewUser(body) {
  const problems = [];
  if (typeof body.email !== 'string' || !/^[^@\s]+@[^@\s]+$/.test(body.email)) problems.push('email must be an e-mail address');
  if (typeof body.name !== 'string' || body.name.trim() === '') problems.push('name must be a non-empty string');
  if (problems.length) throw new HttpError(400, 'INVALID_USER', problems.join('; '), { problems });
  return { email: body.email.toLowerCase(), name: body.name.trim() };
}

await startService({
  name: 'users-api',
  baseUrl: import.meta.url,
  schema,
  routes: [
    {
      method: 'POST',
      path: '/users',
      async handler(ctx, { body }) {
        const u = parseNewUser(body);
        try {
          const { rows } = await ctx.query('INSERT INTO users (email, name) VALUES ($1, $2) RETURNING *', [u.email, u.name]);
          return { status: 201, body: toUser(rows[0]) };
        } catch (err) {
          if (err.code === '23505') throw new HttpError(409, 'USER_EXISTS', `a user with e-mail ${u.email} already exists`);
          throw err;
        }
      },
    },
    {
      method: 'GET',
      path: '/users/:id',
      async handler(ctx, { params }) {
        if (!/^[1-9]\d{0,17}$/.test(params.id)) throw new HttpError(400, 'INVALID_ID', 'a user id is a positive integer');
        const key = ctx.key(`user:${params.id}`);
        let cache = ctx.redis ? 'miss' : 'off';
        if (ctx.redis) {
          try {
            const cached = await ctx.redis.get(key);
            if (cached !== null) return { body: JSON.parse(cached), headers: { 'x-cache': 'hit' } };
          } catch (err) {
            ctx.log('warn', `user cache unavailable: ${err.message}`);
            cache = 'error';
          }
        }
        const { rows } = await ctx.query('SELECT * FROM users WHERE id = $1', [params.id]);
        if (!rows[0]) throw new HttpError(404, 'USER_NOT_FOUND', `no user ${params.id}`);
        const user = toUser(rows[0]);
        if (cache === 'miss') {
          await ctx.redis.set(key, JSON.stringify(user), 'EX', USER_TTL_SECONDS).catch((err) => ctx.log('warn', `user cache not written: ${err.message}`));
        }
        return { body: user, headers: { 'x-cache': cache } };
      },
    },
  ],
});
