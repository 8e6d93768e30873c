import { Redis } from 'ioredis';

export const REDIS_URL = process.env.IDP_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/**
 * Whether Redis tests run. Locally they skip when no server answers; in CI (CI=true) an
 * unreachable server is a failure, so a broken CI machine cannot pass by skipping. Imports nothing
 * of idp, so the providers' own tests can use it too.
 */
export async function redisAvailable(): Promise<boolean> {
  const r = new Redis(REDIS_URL, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 2000,
  });
  r.on('error', () => {});
  try {
    await r.connect();
    await r.ping();
    return true;
  } catch (err) {
    if (process.env.CI === 'true')
      throw new Error(`Redis is required in CI but ${REDIS_URL} is unreachable: ${(err as Error).message}`);
    return false;
  } finally {
    r.disconnect();
  }
}
