import { describe, expect, it } from 'vitest';
import { isDnsLabel } from '../names.ts';
import { PREVIEW_ENV_MAX, parseRepoFullName, previewEnvName } from './names.ts';

describe('preview environment names', () => {
  it('is pr-<number>-<repository name> when the name is already DNS-safe', () => {
    expect(previewEnvName('acme/payments', 12)).toBe('pr-12-payments');
    expect(previewEnvName('Acme/payments-api', 1)).toBe('pr-1-payments-api');
  });

  it('slugs and tags names that had to change, so look-alikes stay apart', () => {
    const a = previewEnvName('acme/Payments_API', 7);
    const b = previewEnvName('other/payments.api', 7);
    expect(a).toMatch(/^pr-7-payments-api-[a-z0-9]{6}$/);
    expect(b).toMatch(/^pr-7-payments-api-[a-z0-9]{6}$/);
    expect(a).not.toBe(b);
    expect(previewEnvName('acme/Payments_API', 7)).toBe(a);
  });

  it('fits 40 characters for long names and large numbers', () => {
    const long = `acme/${'a'.repeat(100)}`;
    for (const n of [1, 99999, 2147483647]) {
      const name = previewEnvName(long, n);
      expect(name.length).toBeLessThanOrEqual(PREVIEW_ENV_MAX);
      expect(isDnsLabel(name, PREVIEW_ENV_MAX)).toBe(true);
      expect(name.startsWith(`pr-${n}-`)).toBe(true);
    }
    expect(previewEnvName(long, 3)).not.toBe(previewEnvName(`acme/${'a'.repeat(99)}`, 3));
  });

  it('gives a DNS label for names of only punctuation', () => {
    const name = previewEnvName('acme/---', 5);
    expect(name).toMatch(/^pr-5-[a-z0-9]{6}$/);
    expect(isDnsLabel(name)).toBe(true);
    expect(previewEnvName('acme/_.', 5)).toMatch(/^pr-5-[a-z0-9]{6}$/);
  });

  it('refuses hostile repository names and numbers instead of passing them on', () => {
    for (const repo of [
      'acme/pay;rm -rf /',
      "acme/x'; DROP TABLE previews;--",
      'acme/$(id)',
      '../etc/passwd',
      'acme/..',
      'acme/.',
      'acme/a/b',
      'acme',
      '/payments',
      'acme/pay ments',
      'acme/p\u00e4y',
      'acme/pay\nments',
      '',
    ]) {
      expect(() => previewEnvName(repo, 1), repo).toThrow(/not a repository/);
      expect(parseRepoFullName(repo), repo).toBeNull();
    }
    for (const n of [0, -1, 1.5, Number.NaN, Number.MAX_SAFE_INTEGER * 2])
      expect(() => previewEnvName('acme/payments', n)).toThrow(/pull request number/);
  });

  it('fits the largest pull request number', () => {
    expect(previewEnvName('acme/payments', Number.MAX_SAFE_INTEGER).length).toBeLessThanOrEqual(40);
  });
});
