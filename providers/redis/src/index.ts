export { RedisProvider, assertRedisPrefix, REDIS_ENV_COMMANDS, type RedisEndpoint } from './provider.ts';
