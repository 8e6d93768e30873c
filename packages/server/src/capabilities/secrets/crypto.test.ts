import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { resolveMasterKey, SecretCipher } from './crypto.ts';

const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'idp-crypto-'));
  dirs.push(d);
  return d;
};
afterEach(() => dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true })));

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return err instanceof IdpError ? err.code : 'not-an-IdpError';
  }
  return undefined;
}

describe('master key', () => {
  it('accepts 32 bytes as hex or base64 and refuses anything else without echoing it', () => {
    const hex = 'ab'.repeat(32);
    expect(resolveMasterKey(tempDir(), hex).key.toString('hex')).toBe(hex);
    const b64 = Buffer.alloc(32, 7).toString('base64');
    expect(resolveMasterKey(tempDir(), b64).key).toEqual(Buffer.alloc(32, 7));
    for (const bad of ['short', 'ab'.repeat(31), Buffer.alloc(16).toString('base64'), 'not base64 at all!']) {
      let message = '';
      try {
        resolveMasterKey(tempDir(), bad);
      } catch (err) {
        expect((err as IdpError).code).toBe('MASTER_KEY_INVALID');
        message = (err as Error).message;
      }
      expect(message).not.toContain(bad);
    }
  });

  it('generates a key in memory without writing it, and reads an existing file', () => {
    const dir = tempDir();
    const generated = resolveMasterKey(dir, undefined);
    expect(generated.created).toBe(true);
    expect(() => statSync(join(dir, 'master.key'))).toThrow();
    writeFileSync(join(dir, 'master.key'), `${generated.key.toString('base64')}\n`, { mode: 0o600 });
    const read = resolveMasterKey(dir, undefined);
    expect(read.created).toBe(false);
    expect(read.keyId).toBe(generated.keyId);
    expect(readFileSync(join(dir, 'master.key'), 'utf8')).not.toContain(read.keyId);
  });
});

describe('SecretCipher', () => {
  const master = resolveMasterKey(tempDir(), 'cd'.repeat(32));
  const cipher = new SecretCipher(master);

  it('round-trips values, with a fresh data key and IV each time', () => {
    const value = 'pässwörd\nwith lines and ✓';
    const a = cipher.encrypt(value, 'staging/payments-api/KEY', 1);
    const b = cipher.encrypt(value, 'staging/payments-api/KEY', 1);
    expect(a.ciphertext).not.toBe(b.ciphertext);
    expect(a.wrappedKey).not.toBe(b.wrappedKey);
    expect(Buffer.from(a.ciphertext, 'base64').includes(Buffer.from(value))).toBe(false);
    expect(cipher.decrypt(a, 'staging/payments-api/KEY', 1)).toBe(value);
  });

  it('detects a changed ciphertext, a changed wrapped key, a moved ciphertext and another master key', () => {
    const sealed = cipher.encrypt('s3cret-value', 'staging/payments-api/KEY', 2);
    const flip = (b64: string) => {
      const raw = Buffer.from(b64, 'base64');
      raw[raw.length - 1] = raw[raw.length - 1]! ^ 1;
      return raw.toString('base64');
    };
    expect(
      codeOf(() => cipher.decrypt({ ...sealed, ciphertext: flip(sealed.ciphertext) }, 'staging/payments-api/KEY', 2)),
    ).toBe('SECRET_INTEGRITY_FAILED');
    expect(
      codeOf(() => cipher.decrypt({ ...sealed, wrappedKey: flip(sealed.wrappedKey) }, 'staging/payments-api/KEY', 2)),
    ).toBe('SECRET_INTEGRITY_FAILED');
    expect(codeOf(() => cipher.decrypt(sealed, 'staging/payments-api/OTHER', 2))).toBe('SECRET_INTEGRITY_FAILED');
    expect(codeOf(() => cipher.decrypt(sealed, 'staging/payments-api/KEY', 1))).toBe('SECRET_INTEGRITY_FAILED');
    const other = new SecretCipher(resolveMasterKey(tempDir(), 'ef'.repeat(32)));
    expect(codeOf(() => other.decrypt(sealed, 'staging/payments-api/KEY', 2))).toBe('SECRET_INTEGRITY_FAILED');
    expect(codeOf(() => other.decrypt({ ...sealed, keyId: other.keyId }, 'staging/payments-api/KEY', 2))).toBe(
      'SECRET_INTEGRITY_FAILED',
    );
  });
});
