// The commands an environment's ACL user may run, less those the server does not know.

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

/** The top-level command names of REDIS_ENV_COMMANDS, once each, to ask COMMAND INFO about. */
export function envCommandNames(): string[] {
  return [...new Set(REDIS_ENV_COMMANDS.map((c) => c.split('|')[0]!))];
}

/** REDIS_ENV_COMMANDS less what a COMMAND INFO answer does not list. */
export function knownEnvCommands(info: unknown[]): string[] {
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
}
