import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bearerOf, ensureTraceKey, TraceTokens, traceKeyPath } from './trace-token.ts';

const dir = mkdtempSync(join(tmpdir(), 'idp-trace-key-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('trace tokens', () => {
  const key = ensureTraceKey(dir);
  const tokens = new TraceTokens(key);
  const id = { namespace: 'staging', service: 'payments-api', release: 'v3' };

  it('keeps the key in the data dir, mode 0600, the same across starts', () => {
    expect(statSync(traceKeyPath(dir)).mode & 0o777).toBe(0o600);
    expect(ensureTraceKey(dir).equals(key)).toBe(true);
  });

  it('verifies a token it signed, as the identity it was signed for', () => {
    expect(tokens.verify(tokens.sign(id))).toEqual(id);
  });

  it('refuses forged, altered, foreign-key and malformed tokens', () => {
    const token = tokens.sign(id);
    const [prefix, , mac] = token.split('.');
    const other = Buffer.from('staging/users-api/v3').toString('base64url');
    expect(tokens.verify(`${prefix}.${other}.${mac}`)).toBeUndefined();
    expect(tokens.verify(`${token.slice(0, -2)}AA`)).toBeUndefined();
    expect(new TraceTokens(Buffer.alloc(32, 7)).verify(token)).toBeUndefined();
    const unsigned = `${prefix}.${Buffer.from('staging/payments-api/v3').toString('base64url')}.`;
    for (const bad of [undefined, '', 'x', unsigned, `${token}.x`, token.replace('idpt1', 'idpt2'), 'a'.repeat(5000)])
      expect(tokens.verify(bad), String(bad).slice(0, 40)).toBeUndefined();
    // Names with a slash cannot smuggle a fourth part: sign refuses them.
    expect(() => tokens.sign({ ...id, service: 'a/b' })).toThrow(RangeError);
  });

  it('refuses a key file that is not 32 bytes of hex', () => {
    const bad = mkdtempSync(join(tmpdir(), 'idp-trace-key-bad-'));
    writeFileSync(traceKeyPath(bad), 'abcd', { mode: 0o600 });
    expect(() => ensureTraceKey(bad)).toThrow(/not 32 bytes/);
    rmSync(bad, { recursive: true, force: true });
  });

  it('reads the bearer token of an Authorization header', () => {
    expect(bearerOf('Bearer abc.def')).toBe('abc.def');
    expect(bearerOf('bearer   abc')).toBe('abc');
    expect(bearerOf('Basic abc')).toBeUndefined();
    expect(bearerOf(undefined)).toBeUndefined();
    expect(bearerOf(['Bearer a', 'Bearer b'])).toBeUndefined();
  });
});
