import { describe, expect, it } from 'vitest';
import { FetchRules } from './fetch-rules.ts';

describe('catalog fetch rules', () => {
  const strict = new FetchRules();

  it('allows public unicast addresses and refuses every special range', () => {
    for (const ok of ['8.8.8.8', '140.82.112.3', '2606:4700::1111'])
      expect(strict.refusal('h', ok), ok).toBeUndefined();
    for (const bad of [
      '127.0.0.1',
      '127.5.5.5',
      '10.1.2.3',
      '172.16.0.1',
      '192.168.0.1',
      '100.64.0.1',
      '169.254.169.254',
      '0.0.0.0',
      '255.255.255.255',
      '224.0.0.1',
      '192.0.2.1',
      '::1',
      '::',
      'fe80::1',
      'fd00:ec2::254',
      '::ffff:127.0.0.1',
      '::ffff:10.0.0.1',
      '64:ff9b::a00:1',
      '2002:7f00:1::1',
    ]) {
      expect(strict.refusal('h', bad), bad).toMatch(/is a \w+ address/);
    }
  });

  it('lets the admin allow addresses, CIDR ranges (IPv4-mapped too) and host names', () => {
    const rules = new FetchRules(['127.0.0.2', '10.0.0.0/8', '[fd00::1]', 'intranet.example', '*.corp.example']);
    expect(rules.refusal('x', '127.0.0.2')).toBeUndefined();
    expect(rules.refusal('x', '127.0.0.1')).toMatch(/loopback/);
    expect(rules.refusal('x', '10.200.0.1')).toBeUndefined();
    expect(rules.refusal('x', '::ffff:10.200.0.1')).toBeUndefined();
    expect(rules.refusal('x', '11.0.0.1')).toBeUndefined();
    expect(rules.refusal('x', '192.168.0.1')).toMatch(/private/);
    expect(rules.refusal('x', 'fd00::1')).toBeUndefined();
    expect(rules.refusal('intranet.example', '192.168.0.1')).toBeUndefined();
    expect(rules.refusal('INTRANET.example.', '192.168.0.1')).toBeUndefined();
    expect(rules.refusal('git.corp.example', '192.168.0.1')).toBeUndefined();
    expect(rules.refusal('corp.example.evil.test', '192.168.0.1')).toMatch(/private/);
  });

  it('validates config entries', () => {
    for (const ok of [
      '127.0.0.1',
      '10.0.0.0/8',
      '::1',
      '[::1]',
      'fd00::/8',
      'intranet.example',
      '*.corp.example',
      'localhost',
    ])
      expect(FetchRules.isValidEntry(ok), ok).toBe(true);
    for (const bad of ['10.0.0.0/33', 'http://x', 'a b', '*.', ''])
      expect(FetchRules.isValidEntry(bad), bad).toBe(false);
  });
});
