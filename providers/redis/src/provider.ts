import { Redis } from 'ioredis';
import { envCommandNames, knownEnvCommands } from './acl-commands.ts';
import { COPY_BATCH, DELETE_BATCH } from './prefix-scripts.ts';
import { assertRedisPrefix, assertUser } from './redis-names.ts';

export { REDIS_ENV_COMMANDS } from './acl-commands.ts';
export { assertRedisPrefix } from './redis-names.ts';

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
      const info = (await r.call('COMMAND', 'INFO', ...envCommandNames())) as unknown[];
      return knownEnvCommands(info);
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
