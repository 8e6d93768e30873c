// Key prefixes and ACL user names idp derives, and the checks that keep glob and whitespace characters out of them.
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

export function assertUser(user: string): string {
  if (!USER.test(user))
    throw new IdpError('INVALID_NAME', `Redis user "${user.slice(0, 80)}" is not safe`, { field: 'redisUser' });
  return user;
}
