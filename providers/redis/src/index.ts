export { RedisProvider, assertRedisPrefix, type RedisEndpoint } from './provider.ts';
