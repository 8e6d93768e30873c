import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  REDIS_URL,
  envFixture,
  storesAvailable,
  waitForEnvironment,
  type EnvFixture,
} from '../support/environments.ts';
import { startHostileServer, type HostileServer } from '../support/security.ts';
import { api } from '../support/server.ts';

const ok = await storesAvailable();

/**
 * Issue 10, item 12: an environment's Redis user could SCAN every tenant's key names and run
 * FUNCTION FLUSH / SCRIPT FLUSH server-wide, and base environments' users were named after the
 * environment, so two control planes sharing one Redis reset each other's passwords. Now the
 * user has a named allow-list of commands on its own prefix: the keyspace-wide, scripting and
 * admin commands answer NOPERM and change nothing, while the application's own commands work;
 * and the users carry the control plane's instance id, so a second control plane making a base
 * environment of the same name leaves the first one's user and password alone.
 */
describe.skipIf(!ok)('security 12: environment Redis users are confined to their prefix, per control plane', () => {
  let fx: EnvFixture;
  let a: HostileServer;
  let b: HostileServer | undefined;
  let admin: Redis;
  const tag = randomBytes(3).toString('hex');
  const sha = { script: '' };

  const client = (url: string) => {
    const r = new Redis(url, {
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      enableReadyCheck: false,
    });
    r.on('error', () => {});
    return r;
  };

  beforeAll(async () => {
    fx = envFixture();
    admin = new Redis(REDIS_URL);
    // Server-wide state another tenant relies on: a cached script and a function library.
    sha.script = (await admin.script('LOAD', `return '${tag}'`)) as string;
    await admin.call(
      'FUNCTION',
      'LOAD',
      `#!lua name=idpsec${tag}\nredis.register_function('idpsec${tag}', function() return 1 end)`,
    );
    a = await startHostileServer({ args: ['--config', fx.configPath] });
  }, 90_000);

  afterAll(async () => {
    await b?.stop();
    await a?.stop();
    await admin?.call('FUNCTION', 'DELETE', `idpsec${tag}`).catch(() => {});
    await fx?.cleanup();
    admin?.disconnect();
  });

  it("a clone's user: its own keys, channels and transactions work; SCAN, KEYS, FLUSH*, FUNCTION/SCRIPT, EVAL, CONFIG, other prefixes → NOPERM", async () => {
    const alice = await a.tokenFor('alice');
    const name = fx.envName('sec12');
    expect((await api(a, alice, 'POST', '/api/environments', { name, from: 'cache', ttl: '1h' })).status).toBe(202);
    expect((await waitForEnvironment(a, alice, name, ['ready', 'failed'])).status).toBe('ready');
    const { REDIS_URL: url, REDIS_KEY_PREFIX: prefix } = (
      await api(a, alice, 'POST', `/api/environments/${name}/connect`)
    ).json.variables;
    expect(decodeURIComponent(new URL(url).username)).toMatch(new RegExp(`^idp-[0-9a-f]{8}-redis-${name}$`));
    const before = {
      staging: (await admin.keys(`${fx.staging.redisPrefix}*`)).sort(),
      cache: (await admin.keys(`${fx.cache.redisPrefix}*`)).sort(),
    };
    expect(before.staging.length).toBeGreaterThan(0);

    const r = client(url);
    const sub = client(url);
    await r.connect();
    await sub.connect();
    try {
      // The application's own work.
      expect(await r.ping()).toBe('PONG');
      expect(await r.get(`${prefix}flag:a`)).toBe('on');
      await r.set(`${prefix}k`, 'v', 'EX', 60);
      expect(await r.ttl(`${prefix}k`)).toBeGreaterThan(0);
      await r.hset(`${prefix}h`, 'f', '1');
      expect(await r.hgetall(`${prefix}h`)).toEqual({ f: '1' });
      await r.lpush(`${prefix}l`, 'x');
      await r.zadd(`${prefix}z`, 1, 'm');
      await r.xadd(`${prefix}s`, '*', 'f', 'v');
      expect(await r.multi().incr(`${prefix}n`).incr(`${prefix}n`).exec()).toEqual([
        [null, 1],
        [null, 2],
      ]);
      expect(await r.publish(`${prefix}events`, 'hi')).toBe(0);
      await sub.subscribe(`${prefix}events`);

      // The attacks.
      const attacks: [string, ...(string | number)[]][] = [
        ['SCAN', 0],
        ['SCAN', 0, 'MATCH', `${fx.staging.redisPrefix}*`],
        ['KEYS', '*'],
        ['RANDOMKEY'],
        ['DBSIZE'],
        ['FUNCTION', 'FLUSH'],
        ['FUNCTION', 'LIST'],
        ['SCRIPT', 'FLUSH'],
        ['SCRIPT', 'EXISTS', sha.script],
        ['EVAL', 'return 1', 0],
        ['EVALSHA', sha.script, 0],
        ['FCALL', `idpsec${tag}`, 0],
        ['FLUSHALL'],
        ['FLUSHDB'],
        ['SWAPDB', 0, 1],
        ['SELECT', 1],
        ['MOVE', `${prefix}k`, 1],
        ['COPY', `${prefix}k`, `${prefix}k2`, 'DB', 1],
        ['CONFIG', 'GET', '*'],
        ['ACL', 'LIST'],
        ['ACL', 'SETUSER', 'x'],
        // (DEBUG and MODULE are refused by the server's own enable-*-command settings before ACLs.)
        ['CLIENT', 'LIST'],
        ['CLIENT', 'KILL', 'TYPE', 'normal'],
        ['SHUTDOWN', 'ABORT'],
        ['LATENCY', 'RESET'],
        ['MEMORY', 'STATS'],
        ['MONITOR'],
        ['PUBSUB', 'CHANNELS'],
        ['SLOWLOG', 'GET'],
        ['SORT', `${prefix}l`, 'BY', 'nosort', 'GET', `${fx.staging.redisPrefix}*`],
        ['GET', `${fx.staging.redisPrefix}feature-flags:new-checkout`],
        ['SET', `${fx.cache.redisPrefix}flag:a`, 'pwned'],
        ['DEL', `${fx.staging.redisPrefix}feature-flags:new-checkout`],
        ['PUBLISH', `${fx.staging.redisPrefix}events`, 'x'],
      ];
      for (const [cmd, ...args] of attacks) {
        await expect(r.call(cmd, ...args), `${cmd} ${args.join(' ')}`).rejects.toThrow(/NOPERM/);
      }
      const other = client(url);
      await other.connect();
      await expect(other.psubscribe('*')).rejects.toThrow(/NOPERM/);
      other.disconnect();
    } finally {
      r.disconnect();
      sub.disconnect();
    }

    // Nothing of anyone else's changed.
    expect((await admin.keys(`${fx.staging.redisPrefix}*`)).sort()).toEqual(before.staging);
    expect((await admin.keys(`${fx.cache.redisPrefix}*`)).sort()).toEqual(before.cache);
    expect(await admin.get(`${fx.cache.redisPrefix}flag:a`)).toBe('on');
    expect(await admin.script('EXISTS', sha.script)).toEqual([1]);
    expect(((await admin.call('FUNCTION', 'LIST', 'LIBRARYNAME', `idpsec${tag}`)) as unknown[]).length).toBe(1);
    expect(await a.alive()).toBe(true);
  });

  it("two control planes sharing one Redis make base users of their own: the second start leaves the first one's user and password working", async () => {
    const frank = await a.tokenFor('frank');
    const connA = (await api(a, frank, 'POST', '/api/environments/staging/connect')).json.variables;
    const userA = decodeURIComponent(new URL(connA.REDIS_URL).username);
    expect(userA).toMatch(new RegExp(`^idp-[0-9a-f]{8}-t${fx.id}-staging$`));

    b = await startHostileServer({ args: ['--config', fx.configPath] });
    const connB = (await api(b, await b.tokenFor('frank'), 'POST', '/api/environments/staging/connect')).json.variables;
    const userB = decodeURIComponent(new URL(connB.REDIS_URL).username);
    expect(userB).toMatch(new RegExp(`^idp-[0-9a-f]{8}-t${fx.id}-staging$`));
    expect(userB).not.toBe(userA);
    expect(connB.REDIS_URL).not.toBe(connA.REDIS_URL);

    // Both users authenticate, with their own passwords, on the shared prefix.
    for (const url of [connA.REDIS_URL, connB.REDIS_URL]) {
      const r = client(url);
      await r.connect();
      try {
        expect(await r.exists(`${fx.staging.redisPrefix}feature-flags:new-checkout`)).toBe(1);
        await expect(r.scan(0)).rejects.toThrow(/NOPERM/);
      } finally {
        r.disconnect();
      }
    }
    const users = (await admin.call('ACL', 'USERS')) as string[];
    expect(users).toEqual(expect.arrayContaining([userA, userB]));
    // The old scheme's user (named after the prefix) is not made any more.
    expect(users).not.toContain(`t${fx.id}-staging`);
    expect(await a.alive()).toBe(true);
    expect(await b.alive()).toBe(true);
  });
});
