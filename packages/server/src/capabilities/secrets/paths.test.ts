import { describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { keyCovers, parseSecretPath, parseSecretPattern, tierLookup } from './paths.ts';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return (err as IdpError).code;
  }
}

describe('secret paths', () => {
  it('parses <env>/<service>/<KEY>', () => {
    expect(parseSecretPath('staging/payments-api/STRIPE_KEY')).toEqual({
      env: 'staging',
      service: 'payments-api',
      key: 'STRIPE_KEY',
      path: 'staging/payments-api/STRIPE_KEY',
    });
    expect(parseSecretPath('dev/users-api/db.password-2').key).toBe('db.password-2');
  });

  it('refuses anything else with SECRET_PATH_INVALID', () => {
    for (const bad of [
      'staging/payments-api',
      'staging/payments-api/KEY/x',
      'Staging/payments-api/KEY',
      'staging/payments_api/KEY',
      'staging/payments-api/1KEY',
      'staging/payments-api/KE Y',
      'staging/payments-api/*',
      '',
      '../x/KEY',
    ]) {
      expect(
        code(() => parseSecretPath(bad)),
        bad,
      ).toBe('SECRET_PATH_INVALID');
    }
  });

  it('accepts patterns for access requests: KEY, * and a KEY prefix', () => {
    expect(parseSecretPattern('production/payments-api/*').key).toBe('*');
    expect(parseSecretPattern('production/payments-api/STRIPE_*').key).toBe('STRIPE_*');
    expect(code(() => parseSecretPattern('production/*/KEY'))).toBe('SECRET_PATH_INVALID');
    expect(code(() => parseSecretPattern('production/payments-api/S*X'))).toBe('SECRET_PATH_INVALID');
  });

  it('tells which keys a grant covers; only * covers a whole service', () => {
    expect(keyCovers('*', 'ANY')).toBe(true);
    expect(keyCovers('*', '*')).toBe(true);
    expect(keyCovers('STRIPE_*', 'STRIPE_KEY')).toBe(true);
    expect(keyCovers('STRIPE_*', 'DB_URL')).toBe(false);
    expect(keyCovers('STRIPE_*', '*')).toBe(false);
    expect(keyCovers('DB_URL', 'DB_URL')).toBe(true);
    expect(keyCovers('DB_URL', 'DB_URL2')).toBe(false);
  });

  it('tiers come from the configured production environments', () => {
    const tier = tierLookup(['production', 'prod-eu']);
    expect(tier('production')).toBe('production');
    expect(tier('prod-eu')).toBe('production');
    expect(tier('staging')).toBe('non-production');
  });
});
