import { Redis } from 'ioredis';
import { IdpError } from '@idp/contracts';

/** Key prefixes and ACL user names idp derives: no glob or whitespace characters, ever. */
const PREFIX = /^[a-z0-9][a-z0-9_.-]{0,62}:$/;
const USER = /^[a-z0-9][a-z0-9_.-]{0,127}$/;

export function assertRedisPrefix(prefix: string): string {
  if (!PREFIX.test(prefix)) {
    throw new IdpError('INVALID_NAME', `Redis key prefix "${prefix.slice(0, 80)}" is not safe`, {
      field: 'redisPrefix',
      hint: 'Use lower-case letters, digits, _ . and -, ending with ":" (e.g. "staging:").',
    });
  }
  return prefix;
}

function assertUser(user: string): string {
  if (!USER.test(user))
    throw new IdpError('INVALID_NAME', `Redis user "${user.slice(0, 80)}" is not safe`, { field: 'redisUser' });
  return user;
}

// Copies one SCAN batch server-side: no key or value crosses the network. COPY keeps the
// value's type and its TTL, and without REPLACE a re-run after a crash skips what is there.
const COPY_BATCH = `
local r = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2] .. '*', 'COUNT', tonumber(ARGV[4]))
local n = 0
local plen = string.len(ARGV[2])
for _, k in ipairs(r[2]) do
  n = n + redis.call('COPY', k, ARGV[3] .. string.sub(k, plen + 1))
end
return {r[1], n}
`;

const DELETE_BATCH = `
local r = redis.call('SCAN', ARGV[1], 'MATCH', ARGV[2] .. '*', 'COUNT', tonumber(ARGV[3]))
local n = 0
for _, k in ipairs(r[2]) do
  n = n + redis.call('UNLINK', k)
end
return {r[1], n}
`;

/**
 * What an environment's ACL user may run: an application's everyday commands on its own keys
 * and channels (the key and channel patterns confine every one of them to the prefix), and
 * nothing that reaches across the keyspace or the server. Left out on purpose:
 *  - SCAN, KEYS, RANDOMKEY, DBSIZE, PUBSUB: they list other tenants' key and channel names;
 *  - FLUSHALL, FLUSHDB, SWAPDB, MOVE, COPY, SELECT (but see ensureUser), MIGRATE: other
 *    tenants' data or other logical databases;
 *  - EVAL*, FCALL*, FUNCTION, SCRIPT: server-wide script state, and a looping script blocks
 *    every tenant;
 *  - SORT (BY/GET patterns read other keys), DUMP/RESTORE (raw payloads);
 *  - CONFIG, ACL, DEBUG, MONITOR, CLIENT (but naming and inspecting one's own connection),
 *    SHUTDOWN, MODULE, SAVE/BGSAVE, REPLICAOF, SLOWLOG, LATENCY, MEMORY, CLUSTER, FAILOVER.
 * INFO stays: common clients' ready checks call it (ioredis, by default) and it names no key.
 * Commands the server does not know (an older Redis) are dropped from the list.
 */
export const REDIS_ENV_COMMANDS: readonly string[] = [
  // connection
  'ping',
  'echo',
  'auth',
  'hello',
  'quit',
  'reset',
  'info',
  'time',
  'client|setname',
  'client|getname',
  'client|id',
  'client|info',
  'client|setinfo',
  // keys
  'del',
  'unlink',
  'exists',
  'type',
  'touch',
  'rename',
  'renamenx',
  'expire',
  'pexpire',
  'expireat',
  'pexpireat',
  'expiretime',
  'pexpiretime',
  'ttl',
  'pttl',
  'persist',
  'object|encoding',
  'object|idletime',
  'object|refcount',
  'object|freq',
  // strings and bits
  'get',
  'set',
  'setnx',
  'setex',
  'psetex',
  'getset',
  'getdel',
  'getex',
  'mget',
  'mset',
  'msetnx',
  'append',
  'strlen',
  'incr',
  'incrby',
  'incrbyfloat',
  'decr',
  'decrby',
  'getrange',
  'setrange',
  'substr',
  'lcs',
  'setbit',
  'getbit',
  'bitcount',
  'bitpos',
  'bitop',
  'bitfield',
  'bitfield_ro',
  // hashes
  'hget',
  'hset',
  'hsetnx',
  'hmset',
  'hmget',
  'hgetall',
  'hdel',
  'hexists',
  'hincrby',
  'hincrbyfloat',
  'hkeys',
  'hvals',
  'hlen',
  'hstrlen',
  'hrandfield',
  'hscan',
  // lists
  'lpush',
  'rpush',
  'lpushx',
  'rpushx',
  'lpop',
  'rpop',
  'llen',
  'lrange',
  'lindex',
  'lset',
  'linsert',
  'lrem',
  'ltrim',
  'lpos',
  'lmove',
  'blmove',
  'rpoplpush',
  'brpoplpush',
  'blpop',
  'brpop',
  'lmpop',
  'blmpop',
  // sets
  'sadd',
  'srem',
  'smembers',
  'sismember',
  'smismember',
  'scard',
  'spop',
  'srandmember',
  'smove',
  'sinter',
  'sintercard',
  'sinterstore',
  'sunion',
  'sunionstore',
  'sdiff',
  'sdiffstore',
  'sscan',
  // sorted sets
  'zadd',
  'zrem',
  'zscore',
  'zmscore',
  'zincrby',
  'zcard',
  'zcount',
  'zlexcount',
  'zrange',
  'zrangestore',
  'zrangebyscore',
  'zrangebylex',
  'zrevrange',
  'zrevrangebyscore',
  'zrevrangebylex',
  'zrank',
  'zrevrank',
  'zremrangebyrank',
  'zremrangebyscore',
  'zremrangebylex',
  'zpopmin',
  'zpopmax',
  'bzpopmin',
  'bzpopmax',
  'zmpop',
  'bzmpop',
  'zrandmember',
  'zunion',
  'zunionstore',
  'zinter',
  'zinterstore',
  'zintercard',
  'zdiff',
  'zdiffstore',
  'zscan',
  // streams
  'xadd',
  'xrange',
  'xrevrange',
  'xlen',
  'xread',
  'xreadgroup',
  'xack',
  'xclaim',
  'xautoclaim',
  'xpending',
  'xdel',
  'xtrim',
  'xsetid',
  'xgroup|create',
  'xgroup|createconsumer',
  'xgroup|delconsumer',
  'xgroup|destroy',
  'xgroup|setid',
  'xinfo|stream',
  'xinfo|groups',
  'xinfo|consumers',
  // hyperloglog and geo
  'pfadd',
  'pfcount',
  'pfmerge',
  'geoadd',
  'geodist',
  'geohash',
  'geopos',
  'geosearch',
  'geosearchstore',
  // pub/sub (channels confined to the prefix)
  'publish',
  'subscribe',
  'unsubscribe',
  'psubscribe',
  'punsubscribe',
  'spublish',
  'ssubscribe',
  'sunsubscribe',
  // transactions
  'multi',
  'exec',
  'discard',
  'watch',
  'unwatch',
];

export interface RedisEndpoint {
  host: string;
  port: number;
  db: number;
}

/**
 * The Redis provider: an environment's keyspace is a key prefix (`redis-<env>:`) in the
 * configured logical database, guarded by an ACL user of the same name allowed only those keys
 * and channels. A prefix rather than a logical database because Redis has 16 of those by default
 * and ACLs cannot confine a user to one; a prefix scales and the ACL enforces it.
 */
export class RedisProvider {
  readonly endpoint: RedisEndpoint;
  private client: Redis | null = null;
  private aclSupport: boolean | null = null;
  private commandRules: Promise<string[]> | null = null;

  constructor(readonly url: string) {
    const u = new URL(url);
    this.endpoint = {
      host: u.hostname || '127.0.0.1',
      port: Number(u.port || 6379),
      db: Number(u.pathname.slice(1) || 0),
    };
  }

  private redis(): Redis {
    if (!this.client) {
      this.client = new Redis(this.url, {
        lazyConnect: true,
        maxRetriesPerRequest: 1,
        connectTimeout: 3000,
        enableOfflineQueue: true,
        retryStrategy: () => null,
      });
      this.client.on('error', () => {});
    }
    return this.client;
  }

  private async ready(): Promise<Redis> {
    const r = this.redis();
    if (r.status === 'end' || r.status === 'close') {
      this.client = null;
      return this.ready();
    }
    if (r.status === 'wait') await r.connect();
    return r;
  }

  async check(): Promise<string | null> {
    try {
      await (await this.ready()).ping();
      return null;
    } catch (err) {
      this.client?.disconnect();
      this.client = null;
      return (err as Error).message || String(err);
    }
  }

  async close(): Promise<void> {
    const c = this.client;
    this.client = null;
    if (c) await c.quit().catch(() => c.disconnect());
  }

  /** Whether the server has ACLs (Redis 6+) and lets us manage them. */
  async supportsAcl(): Promise<boolean> {
    if (this.aclSupport !== null) return this.aclSupport;
    try {
      await (await this.ready()).call('ACL', 'WHOAMI');
      this.aclSupport = true;
    } catch {
      this.aclSupport = false;
    }
    return this.aclSupport;
  }

  /** Copies every key under `from` to the same name under `to`, with values and TTLs. */
  async copyPrefix(from: string, to: string, onBatch?: (copied: number) => void): Promise<number> {
    assertRedisPrefix(from);
    assertRedisPrefix(to);
    const r = await this.ready();
    let cursor = '0';
    let copied = 0;
    do {
      const [next, n] = (await r.eval(COPY_BATCH, 0, cursor, from, to, '2000')) as [string, number];
      cursor = next;
      copied += Number(n);
      onBatch?.(copied);
    } while (cursor !== '0');
    return copied;
  }

  async deletePrefix(prefix: string): Promise<number> {
    assertRedisPrefix(prefix);
    const r = await this.ready();
    let cursor = '0';
    let deleted = 0;
    do {
      const [next, n] = (await r.eval(DELETE_BATCH, 0, cursor, prefix, '2000')) as [string, number];
      cursor = next;
      deleted += Number(n);
    } while (cursor !== '0');
    return deleted;
  }

  async countPrefix(prefix: string): Promise<number> {
    assertRedisPrefix(prefix);
    const r = await this.ready();
    let cursor = '0';
    let count = 0;
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 2000);
      cursor = next;
      count += keys.length;
    } while (cursor !== '0');
    return count;
  }

  /**
   * An ACL user that may touch only `prefix*` keys and channels, with the commands of
   * REDIS_ENV_COMMANDS and nothing else. `reset` first, so re-running it replaces whatever rules
   * the user had (an older, broader list included). SELECT only when the configured database is
   * not 0: clients send it to reach that database, and ACLs cannot name a database, so where it
   * is needed the key patterns are what still confine the user.
   */
  async ensureUser(user: string, password: string, prefix: string): Promise<void> {
    assertUser(user);
    assertRedisPrefix(prefix);
    const r = await this.ready();
    const commands = await this.allowedCommands();
    await r.call(
      'ACL',
      'SETUSER',
      user,
      'reset',
      'on',
      `>${password}`,
      `~${prefix}*`,
      `&${prefix}*`,
      '-@all',
      ...commands.map((c) => `+${c}`),
      ...(this.endpoint.db !== 0 ? ['+select'] : []),
    );
  }

  /** REDIS_ENV_COMMANDS less what this server does not know (ACL SETUSER refuses unknown names). */
  private allowedCommands(): Promise<string[]> {
    this.commandRules ??= (async () => {
      const r = await this.ready();
      const names = [...new Set(REDIS_ENV_COMMANDS.map((c) => c.split('|')[0]!))];
      const info = (await r.call('COMMAND', 'INFO', ...names)) as unknown[];
      const known = new Set<string>();
      let subcommandInfo = false;
      for (const entry of info) {
        if (!Array.isArray(entry)) continue;
        known.add(String(entry[0]).toLowerCase());
        // Redis 7 lists subcommands as the 10th field; Redis 6 accepts any subcommand name.
        const subs = entry[9];
        if (Array.isArray(subs)) {
          subcommandInfo = true;
          for (const sub of subs) if (Array.isArray(sub)) known.add(String(sub[0]).toLowerCase());
        }
      }
      return REDIS_ENV_COMMANDS.filter(
        (c) => known.has(c.split('|')[0]!) && (!c.includes('|') || !subcommandInfo || known.has(c)),
      );
    })().catch((err: unknown) => {
      this.commandRules = null;
      throw err;
    });
    return this.commandRules;
  }

  async deleteUser(user: string): Promise<boolean> {
    assertUser(user);
    if (!(await this.supportsAcl())) return false;
    const n = await (await this.ready()).call('ACL', 'DELUSER', user);
    return Number(n) > 0;
  }

  urlFor(user: string | null, password: string | null): string {
    const u = new URL(this.url);
    if (user) {
      u.username = encodeURIComponent(user);
      u.password = encodeURIComponent(password ?? '');
    }
    u.pathname = `/${this.endpoint.db}`;
    return u.toString();
  }

  /** Writes seed keys (`{key: value}` strings, or `{value, ttl}` objects) under the prefix. */
  async seed(prefix: string, entries: Record<string, unknown>): Promise<number> {
    assertRedisPrefix(prefix);
    const r = await this.ready();
    const m = r.multi();
    let n = 0;
    for (const [key, raw] of Object.entries(entries)) {
      const v = raw as { value?: unknown; ttl?: number } | string;
      if (typeof v === 'object' && v !== null && 'value' in v) {
        const value = typeof v.value === 'string' ? v.value : JSON.stringify(v.value);
        if (typeof v.ttl === 'number' && v.ttl > 0) m.set(`${prefix}${key}`, value, 'EX', v.ttl);
        else m.set(`${prefix}${key}`, value);
      } else {
        m.set(`${prefix}${key}`, typeof v === 'string' ? v : JSON.stringify(v));
      }
      n++;
    }
    await m.exec();
    return n;
  }
}
