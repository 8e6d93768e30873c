import { IdpError } from '@idp/contracts';
import type { LoadedConfig } from './load.ts';

/** Where a setting came from, to name it in errors and in start-up messages. */
export interface StoreUrl {
  url: string | undefined;
  /** `option` (a start option), the environment variable's name, or the config key. */
  source: string;
}

/**
 * The PostgreSQL admin URL and Redis URL the environments use: a start option, else the
 * environment variable (IDP_POSTGRES_ADMIN_URL, IDP_REDIS_URL), else the config file
 * (postgres.adminUrl, redis.url). A URL of the wrong scheme is CONFIG_INVALID naming its source.
 */
export function storeUrls(
  loaded: LoadedConfig,
  options: { postgresAdminUrl?: string; redisUrl?: string },
  env: NodeJS.ProcessEnv,
): { postgres: StoreUrl; redis: StoreUrl } {
  const pick = (option: string | undefined, envVar: string, fromConfig: string | undefined, key: string): StoreUrl =>
    option
      ? { url: option, source: 'option' }
      : env[envVar]
        ? { url: env[envVar], source: envVar }
        : { url: fromConfig, source: key };
  const postgres = pick(
    options.postgresAdminUrl,
    'IDP_POSTGRES_ADMIN_URL',
    loaded.config.postgres.adminUrl,
    'postgres.adminUrl',
  );
  const redis = pick(options.redisUrl, 'IDP_REDIS_URL', loaded.config.redis.url, 'redis.url');
  check(postgres, /^postgres(ql)?:\/\//, 'postgres://');
  check(redis, /^rediss?:\/\//, 'redis://');
  return { postgres, redis };
}

function check({ url, source }: StoreUrl, scheme: RegExp, what: string): void {
  if (url && !scheme.test(url)) throw new IdpError('CONFIG_INVALID', `${source}: not a ${what} URL`, { field: source });
}
