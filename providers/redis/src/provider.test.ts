import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { REDIS_URL, redisAvailable } from '../../../test/support/redis.ts';
import { RedisProvider, assertRedisPrefix } from './provider.ts';

// RedisProvider against the real server: every key prefix and ACL user carries this run's id, and
// afterAll removes whatever a failed test left. Locally the file skips when Redis is down; with
// CI=true redisAvailable() throws, so the file fails instead.

const up = await redisAvailable();
const id = randomBytes(4).toString('hex');
const prefix = (label: string) => `rt${id}-${label}:`;
const userName = (label: string) => `idp-rt${id}-${label}`;

describe.skipIf(!up)('RedisProvider on a real Redis', () => {
  const provider = new RedisProvider(REDIS_URL);
  let admin: Redis;
  const clients: Redis[] = [];

  /** A connection authenticated (AUTH) as an environment's ACL user. */
  const connectAs = async (user: string, password: string): Promise<Redis> => {
    const c = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    c.on('error', () => {});
    clients.push(c);
    await c.connect();
    await c.call('AUTH', user, password);
    return c;
  };
  const keysUnder = async (p: string) => (await admin.keys(`${p}*`)).sort();

  beforeAll(async () => {
    admin = new Redis(REDIS_URL);
  });
  afterAll(async () => {
    if (!up) return;
    for (const c of clients) c.disconnect();
    const left = await admin.keys(`rt${id}-*`);
    if (left.length) await admin.del(...left);
    const users = ((await admin.call('ACL', 'USERS')) as string[]).filter((u) => u.startsWith(`idp-rt${id}-`));
    if (users.length) await admin.call('ACL', 'DELUSER', ...users);
    await provider.close();
    await admin.quit();
  });

  it('copies every key under a prefix with its type and TTL, and only those; a re-run never overwrites', async () => {
    const from = prefix('staging');
    const to = prefix('feature');
    const outside = prefix('stagingx');
    await admin.set(`${from}flag`, 'on');
    await admin.set(`${from}session:1`, 'abc', 'EX', 3600);
    await admin.hset(`${from}user:1`, { name: 'alice', plan: 'pro' });
    await admin.rpush(`${from}queue`, 'a', 'b');
    await admin.set(`${outside}other`, 'not mine');
    await admin.set(`${to}flag`, 'changed in the clone');

    expect(await provider.copyPrefix(from, to)).toBe(3); // flag exists already: not replaced
    expect(await keysUnder(to)).toEqual([`${to}flag`, `${to}queue`, `${to}session:1`, `${to}user:1`]);
    expect(await admin.get(`${to}flag`)).toBe('changed in the clone');
    expect(await admin.hgetall(`${to}user:1`)).toEqual({ name: 'alice', plan: 'pro' });
    expect(await admin.lrange(`${to}queue`, 0, -1)).toEqual(['a', 'b']);
    const ttl = await admin.ttl(`${to}session:1`);
    expect(ttl).toBeGreaterThan(3500);
    expect(ttl).toBeLessThanOrEqual(3600);
    expect(await admin.ttl(`${to}flag`)).toBe(-1);
    // The source is unchanged, and a prefix that merely starts the same is not copied.
    expect(await provider.countPrefix(from)).toBe(4);
    expect(await admin.exists(`${to}other`)).toBe(0);

    await admin.set(`${to}session:1`, 'mine now');
    expect(await provider.copyPrefix(from, to)).toBe(0);
    expect(await admin.get(`${to}session:1`)).toBe('mine now');
  });

  it('copies a prefix larger than one SCAN batch', async () => {
    const from = prefix('big');
    const to = prefix('bigcopy');
    const m = admin.multi();
    for (let i = 0; i < 4500; i++) m.set(`${from}k${i}`, String(i));
    await m.exec();
    const batches: number[] = [];
    expect(await provider.copyPrefix(from, to, (n) => batches.push(n))).toBe(4500);
    expect(batches.length).toBeGreaterThan(1);
    expect(await provider.countPrefix(to)).toBe(4500);
    expect(await admin.get(`${to}k4499`)).toBe('4499');
    expect(await provider.deletePrefix(from)).toBe(4500);
    expect(await provider.deletePrefix(to)).toBe(4500);
  });

  it('an ACL user reaches only its own prefix and none of the commands that reach across the server', async () => {
    const own = prefix('acl');
    const other = prefix('aclother');
    const user = userName('acl');
    await admin.set(`${other}secret`, 'theirs');
    await provider.ensureUser(user, 'pw-1', own);
    const c = await connectAs(user, 'pw-1');

    await c.set(`${own}k`, 'v');
    expect(await c.get(`${own}k`)).toBe('v');
    expect(await c.incr(`${own}n`)).toBe(1);
    await expect(c.get(`${other}secret`)).rejects.toThrow(/NOPERM/);
    await expect(c.set(`${other}secret`, 'overwritten')).rejects.toThrow(/NOPERM/);
    await expect(c.get('unprefixed')).rejects.toThrow(/NOPERM/);
    for (const cmd of [
      ['KEYS', '*'],
      ['SCAN', '0'],
      ['FLUSHALL'],
      ['CONFIG', 'GET', 'maxmemory'],
      ['ACL', 'LIST'],
      ['EVAL', 'return 1', '0'],
    ]) {
      await expect(c.call(cmd[0]!, ...cmd.slice(1)), cmd.join(' ')).rejects.toThrow(/NOPERM/);
    }
    await expect(c.publish(`${other}chan`, 'x')).rejects.toThrow(/NOPERM/);
    expect(await c.publish(`${own}chan`, 'x')).toBe(0);
    expect(await admin.get(`${other}secret`)).toBe('theirs');

    // Re-running replaces the rules and the password: the old one stops working.
    await provider.ensureUser(user, 'pw-2', own);
    await expect(connectAs(user, 'pw-1')).rejects.toThrow(/WRONGPASS|invalid username-password/);
    expect(await (await connectAs(user, 'pw-2')).get(`${own}k`)).toBe('v');

    expect(await provider.deleteUser(user)).toBe(true);
    expect(await provider.deleteUser(user)).toBe(false);
    expect((await admin.call('ACL', 'USERS')) as string[]).not.toContain(user);
    await expect(connectAs(user, 'pw-2')).rejects.toThrow(/WRONGPASS|invalid username-password/);
  });

  it('deletePrefix removes every key under the prefix and nothing else', async () => {
    const p = prefix('gone');
    const neighbour = prefix('gonex');
    await admin.mset(`${p}a`, '1', `${p}b`, '2', `${p}c:d`, '3', `${neighbour}keep`, 'x');
    expect(await provider.deletePrefix(p)).toBe(3);
    expect(await keysUnder(p)).toEqual([]);
    expect(await admin.get(`${neighbour}keep`)).toBe('x');
    expect(await provider.deletePrefix(p)).toBe(0);
  });

  it('refuses prefixes and users with glob or control characters before touching Redis', async () => {
    for (const bad of ['*', 'a*:', 'a', 'a b:', 'A:', '[ab]:', `x:\n`, '']) {
      expect(() => assertRedisPrefix(bad), JSON.stringify(bad)).toThrow(IdpError);
    }
    await expect(provider.copyPrefix(prefix('ok'), '*')).rejects.toMatchObject({
      code: 'INVALID_NAME',
      details: { field: 'redisPrefix' },
    });
    await expect(provider.deletePrefix('')).rejects.toMatchObject({ code: 'INVALID_NAME' });
    await expect(provider.ensureUser('bad user', 'pw', prefix('ok'))).rejects.toMatchObject({
      code: 'INVALID_NAME',
      details: { field: 'redisUser' },
    });
    expect(assertRedisPrefix('redis-feature-1:')).toBe('redis-feature-1:');
  });

  it('reports an unreachable server instead of throwing', async () => {
    expect(await provider.check()).toBeNull();
    expect(await provider.supportsAcl()).toBe(true);
    const down = new RedisProvider('redis://127.0.0.1:1');
    expect(await down.check()).toEqual(expect.any(String));
    await down.close();
  });
});
