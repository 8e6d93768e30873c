import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import type { Kysely } from 'kysely';
import { IdpError } from '@idp/contracts';
import type { Clock } from '../../clock.ts';
import type { Database } from '../../store/index.ts';
import { KEY_BYTES, resolveKeyMaterial } from '../../key-file.ts';

const IV_BYTES = 12;
const TAG_BYTES = 16;
/** idp_meta key of the master key's check value; written at the first start, compared at every start. */
export const KEY_CHECK_META = 'secrets.master_key_check';

export interface MasterKey {
  key: Buffer;
  /** 'IDP_MASTER_KEY' or the file's path: for the start-up message, never the key itself. */
  source: string;
  /** A fingerprint stored beside each wrapped data key; safe to show. */
  keyId: string;
  /** Set when the key was generated just now: the file is written only once the store accepted the key. */
  created: boolean;
}

function derive(key: Buffer, label: string): Buffer {
  return createHmac('sha256', key).update(label).digest();
}

function keyIdOf(key: Buffer): string {
  return `mk_${derive(key, 'idp/secrets/key-id/v1').subarray(0, 8).toString('hex')}`;
}

/**
 * Reads the master key from IDP_MASTER_KEY or <data-dir>/master.key, or makes a new one in
 * memory when neither exists. Nothing is written here: see unlockMasterKey.
 */
export function resolveMasterKey(dataDir: string, fromEnv: string | undefined): MasterKey {
  const m = resolveKeyMaterial(dataDir, fromEnv, {
    envName: 'IDP_MASTER_KEY',
    fileName: 'master.key',
    label: 'master key',
    invalidCode: 'MASTER_KEY_INVALID',
  });
  return { ...m, keyId: keyIdOf(m.key) };
}

/**
 * Checks the master key against the check value the store keeps (an HMAC of a fixed label under
 * the key, which reveals nothing about it), records it on the first start, and only then writes a
 * newly generated key to <data-dir>/master.key (mode 0600). A different key refuses to start
 * and changes nothing: no file is written and no row is touched.
 */
export async function unlockMasterKey(
  db: Kysely<Database>,
  clock: Clock,
  dataDir: string,
  fromEnv: string | undefined,
): Promise<MasterKey> {
  const master = resolveMasterKey(dataDir, fromEnv);
  const check = derive(master.key, 'idp/secrets/master-key-check/v1').toString('hex');
  const stored = await db.selectFrom('idp_meta').select('value').where('key', '=', KEY_CHECK_META).executeTakeFirst();
  if (stored) {
    if (!timingSafeEqual(Buffer.from(stored.value), Buffer.from(check))) {
      const missingFile = master.created
        ? ` ${master.source} does not exist, and a new key would not open the secrets already stored.`
        : '';
      throw new IdpError(
        'MASTER_KEY_MISMATCH',
        `the master key from ${master.source} is not the key this state store's secrets were encrypted with (key ${master.keyId}).${missingFile} The control plane did not start and changed nothing.`,
        { field: master.source === 'IDP_MASTER_KEY' ? 'IDP_MASTER_KEY' : 'master.key' },
      );
    }
  } else {
    const existing = await db.selectFrom('secret_versions').select('key_id').limit(1).executeTakeFirst();
    if (existing) {
      // Secrets without a check value: someone removed it. Starting would risk encrypting new
      // versions under a key that cannot open the old ones.
      throw new IdpError(
        'MASTER_KEY_MISMATCH',
        `the state store holds secrets but no master key check value (idp_meta ${KEY_CHECK_META}); refusing to start rather than guess the key. Nothing was changed.`,
        {
          field: 'master.key',
          hint: 'Restore the idp_meta row from a backup, or start with the original key and re-create the row.',
        },
      );
    }
    await db
      .insertInto('idp_meta')
      .values({ key: KEY_CHECK_META, value: check, updated_at: clock.now().toISOString() })
      .onConflict((oc) => oc.column('key').doNothing())
      .execute();
    // Another control plane on the same PostgreSQL may have won the race with another key.
    const now = await db
      .selectFrom('idp_meta')
      .select('value')
      .where('key', '=', KEY_CHECK_META)
      .executeTakeFirstOrThrow();
    if (now.value !== check) {
      throw new IdpError(
        'MASTER_KEY_MISMATCH',
        `another control plane initialised this state store with a different master key; start with that key (${master.source} differs). Nothing was changed.`,
        { field: master.source === 'IDP_MASTER_KEY' ? 'IDP_MASTER_KEY' : 'master.key' },
      );
    }
  }
  if (master.created) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    // 'wx': never overwrite a key file, even one that appeared since we looked.
    writeFileSync(master.source, `${master.key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
    chmodSync(master.source, 0o600);
  } else if (master.source !== 'IDP_MASTER_KEY' && (statSync(master.source).mode & 0o077) !== 0) {
    // Tighten a file someone loosened: the key opens every secret.
    chmodSync(master.source, 0o600);
  }
  return master;
}

export interface Sealed {
  /** base64(iv | tag | ciphertext) of the value under the data key. */
  ciphertext: string;
  /** base64(iv | tag | ciphertext) of the data key under the master key. */
  wrappedKey: string;
  keyId: string;
}

function seal(key: Buffer, plaintext: Buffer, aad: Buffer): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(aad);
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
}

function open(key: Buffer, sealed: string, aad: Buffer): Buffer {
  const raw = Buffer.from(sealed, 'base64');
  if (raw.length < IV_BYTES + TAG_BYTES) throw new Error('sealed value too short');
  const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
  decipher.setAAD(aad);
  decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  return Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
}

/**
 * Envelope encryption with AES-256-GCM: each version gets its own random data key, which the
 * master key wraps. Both layers authenticate the path and version (as associated data), so a
 * ciphertext copied onto another row, or changed in place, fails to open instead of decrypting
 * to the wrong secret.
 */
export class SecretCipher {
  constructor(private readonly master: MasterKey) {}

  get keyId(): string {
    return this.master.keyId;
  }

  encrypt(value: string, path: string, version: number): Sealed {
    const aad = Buffer.from(`idp-secret/v1\u0000${path}\u0000${version}`);
    const dataKey = randomBytes(KEY_BYTES);
    try {
      const plaintext = Buffer.from(value, 'utf8');
      const ciphertext = seal(dataKey, plaintext, aad);
      plaintext.fill(0);
      return {
        ciphertext,
        wrappedKey: seal(this.master.key, dataKey, Buffer.concat([Buffer.from('idp-data-key/v1\u0000'), aad])),
        keyId: this.master.keyId,
      };
    } finally {
      dataKey.fill(0);
    }
  }

  /** Throws SECRET_INTEGRITY_FAILED (never the value, never the cause's bytes) when anything does not authenticate. */
  decrypt(sealed: Sealed, path: string, version: number): string {
    const aad = Buffer.from(`idp-secret/v1\u0000${path}\u0000${version}`);
    if (sealed.keyId !== this.master.keyId) {
      throw integrity(
        path,
        version,
        `it was encrypted under master key ${sealed.keyId}, not the current ${this.master.keyId}`,
      );
    }
    let dataKey: Buffer;
    try {
      dataKey = open(this.master.key, sealed.wrappedKey, Buffer.concat([Buffer.from('idp-data-key/v1\u0000'), aad]));
    } catch {
      throw integrity(path, version, 'its wrapped data key does not authenticate');
    }
    try {
      return open(dataKey, sealed.ciphertext, aad).toString('utf8');
    } catch {
      throw integrity(path, version, 'its ciphertext does not authenticate');
    } finally {
      dataKey.fill(0);
    }
  }
}

function integrity(path: string, version: number, why: string): IdpError {
  return new IdpError(
    'SECRET_INTEGRITY_FAILED',
    `secret ${path} version ${version} failed its integrity check (${why}): it was changed in the store or written under another key; nothing was returned`,
    {
      path,
      version,
    },
  );
}
