import { describe, expect, it } from 'vitest';
import type { IdpError } from '@idp/contracts';
import { parseConfig } from './load.ts';
import { storeUrls } from './stores.ts';

// Which PostgreSQL and Redis the environments use: a start option beats the environment variable,
// which beats idp.config.yaml; what is used says where it came from, and a wrong scheme names it.

const FILE = '/etc/idp/idp.config.yaml';
const withFile = parseConfig(
  'postgres:\n  adminUrl: postgres://file@db:5432/postgres\nredis:\n  url: redis://file-redis:6379\n',
  FILE,
);
const withoutFile = parseConfig('', FILE);

describe('store URLs', () => {
  it('come from the config file when nothing overrides them', () => {
    expect(storeUrls(withFile, {}, {})).toEqual({
      postgres: { url: 'postgres://file@db:5432/postgres', source: 'postgres.adminUrl' },
      redis: { url: 'redis://file-redis:6379', source: 'redis.url' },
    });
  });

  it('IDP_POSTGRES_ADMIN_URL and IDP_REDIS_URL override the file, each on its own', () => {
    const env = { IDP_POSTGRES_ADMIN_URL: 'postgresql://env@127.0.0.1/postgres' };
    expect(storeUrls(withFile, {}, env)).toEqual({
      postgres: { url: 'postgresql://env@127.0.0.1/postgres', source: 'IDP_POSTGRES_ADMIN_URL' },
      redis: { url: 'redis://file-redis:6379', source: 'redis.url' },
    });
    expect(storeUrls(withFile, {}, { IDP_REDIS_URL: 'rediss://env-redis:6380' }).redis).toEqual({
      url: 'rediss://env-redis:6380',
      source: 'IDP_REDIS_URL',
    });
  });

  it('a start option beats the environment variable; an empty variable does not count', () => {
    const env = { IDP_POSTGRES_ADMIN_URL: 'postgres://env@h/p', IDP_REDIS_URL: '' };
    const urls = storeUrls(withFile, { postgresAdminUrl: 'postgres://opt@h/p' }, env);
    expect(urls.postgres).toEqual({ url: 'postgres://opt@h/p', source: 'option' });
    expect(urls.redis.source).toBe('redis.url');
  });

  it('nothing configured anywhere is no store, named by its config key', () => {
    expect(storeUrls(withoutFile, {}, {})).toEqual({
      postgres: { url: undefined, source: 'postgres.adminUrl' },
      redis: { url: undefined, source: 'redis.url' },
    });
  });

  it('a URL of the wrong scheme is CONFIG_INVALID naming where it was set', () => {
    const fail = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return err as IdpError;
      }
      throw new Error('expected an error');
    };
    const fromEnv = fail(() => storeUrls(withFile, {}, { IDP_REDIS_URL: 'http://redis:6379' }));
    expect(fromEnv).toMatchObject({ code: 'CONFIG_INVALID', details: { field: 'IDP_REDIS_URL' } });
    expect(fromEnv.message).toBe('IDP_REDIS_URL: not a redis:// URL');
    const fromFile = fail(() => storeUrls(parseConfig('postgres:\n  adminUrl: mysql://x\n', FILE), {}, {}));
    expect(fromFile).toMatchObject({ code: 'CONFIG_INVALID', details: { field: 'postgres.adminUrl' } });
  });
});
