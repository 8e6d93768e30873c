import { sql, type Kysely, type Transaction } from 'kysely';
import { IdpError, type SecretMeta } from '@idp/contracts';
import { isUniqueViolation, type Database } from '../../store/index.ts';
import type { SecretsDeps } from './deps.ts';
import type { SecretPath } from './paths.ts';
import type { SecretScope } from './resources.ts';

export type SecretRow = Database['secrets'];

/** One stored version as the cipher needs it. */
export interface SealedVersion {
  ciphertext: string;
  wrapped_key: string;
  key_id: string;
  version: number;
}

type Db = Kysely<Database> | Transaction<Database>;

/**
 * The secrets tables: a secret's row, its encrypted versions and the per-scope revision the
 * Vault endpoint reports. Sealing and opening happen here, so a value is plaintext only on its
 * way in or out of one call.
 */
export class SecretStore {
  constructor(private readonly deps: Pick<SecretsDeps, 'db' | 'dialect' | 'audit' | 'clock' | 'ids' | 'cipher'>) {}

  now(): string {
    return this.deps.clock.now().toISOString();
  }

  find(db: Db, p: SecretPath): Promise<SecretRow | undefined> {
    return db
      .selectFrom('secrets')
      .selectAll()
      .where('env', '=', p.env)
      .where('service', '=', p.service)
      .where('key', '=', p.key)
      .executeTakeFirst();
  }

  async lock(trx: Transaction<Database>, p: SecretPath): Promise<SecretRow | undefined> {
    const q = trx
      .selectFrom('secrets')
      .selectAll()
      .where('env', '=', p.env)
      .where('service', '=', p.service)
      .where('key', '=', p.key);
    const row = await (this.deps.dialect === 'postgres' ? q.forUpdate() : q).executeTakeFirst();
    return row ? { ...row, current_version: Number(row.current_version) } : undefined;
  }

  version(db: Db, secretId: string, version: number): Promise<Database['secret_versions'] | undefined> {
    return db
      .selectFrom('secret_versions')
      .selectAll()
      .where('secret_id', '=', secretId)
      .where('version', '=', version)
      .executeTakeFirst();
  }

  /** Encrypts `value` for `path` (the path and version are its authenticated data) and stores it as that version. */
  async insertVersion(
    trx: Transaction<Database>,
    secretId: string,
    path: string,
    version: number,
    value: string,
    actor: string,
    now: string,
  ): Promise<void> {
    const sealed = this.deps.cipher.encrypt(value, path, version);
    await trx
      .insertInto('secret_versions')
      .values({
        secret_id: secretId,
        version,
        ciphertext: sealed.ciphertext,
        wrapped_key: sealed.wrappedKey,
        key_id: sealed.keyId,
        created_at: now,
        created_by: actor,
      })
      .execute();
  }

  /** A new secret's row at version 1 (its value goes in with insertVersion). */
  async insertSecret(
    trx: Transaction<Database>,
    env: string,
    service: string,
    key: string,
    actor: string,
    now: string,
  ): Promise<SecretRow> {
    const row: SecretRow = {
      id: this.deps.ids.next('sec'),
      env,
      service,
      key,
      current_version: 1,
      created_at: now,
      created_by: actor,
      updated_at: now,
      updated_by: actor,
      deleted_at: null,
      deleted_by: null,
    };
    await trx.insertInto('secrets').values(row).execute();
    return row;
  }

  /** Makes `version` the current one (and undeletes the secret). */
  async setCurrent(trx: Transaction<Database>, id: string, version: number, actor: string, now: string): Promise<void> {
    await trx
      .updateTable('secrets')
      .set({ current_version: version, updated_at: now, updated_by: actor, deleted_at: null, deleted_by: null })
      .where('id', '=', id)
      .execute();
  }

  /** Every change to a scope bumps its revision: what a Vault client sees as the version. */
  async bumpScope(trx: Transaction<Database>, env: string, service: string, now: string): Promise<void> {
    await trx
      .insertInto('secret_scopes')
      .values({ env, service, revision: 1, updated_at: now })
      .onConflict((oc) =>
        oc.columns(['env', 'service']).doUpdateSet({ revision: sql`secret_scopes.revision + 1`, updated_at: now }),
      )
      .execute();
  }

  /** Two writers creating the same path at once: one wins, the other is told to retry. */
  async write<T>(fn: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    try {
      return await this.deps.db.transaction().execute(fn);
    } catch (err) {
      if (!(err instanceof IdpError) && isUniqueViolation(err)) {
        throw new IdpError('CONFLICT', 'the secret was changed at the same moment by another request', {
          hint: 'Run the command again.',
        });
      }
      throw err;
    }
  }

  /** Decrypts one version; an integrity failure is audited (as an error) before it is thrown. */
  async open(
    actor: string,
    requestId: string,
    path: string,
    v: SealedVersion,
    details: Record<string, unknown>,
  ): Promise<string> {
    try {
      return this.deps.cipher.decrypt(
        { ciphertext: v.ciphertext, wrappedKey: v.wrapped_key, keyId: v.key_id },
        path,
        Number(v.version),
      );
    } catch (err) {
      if (err instanceof IdpError) {
        await this.deps.audit.append({
          actor,
          action: 'secret:read',
          target: `secret:${path}`,
          decision: 'error',
          requestId,
          details: { ...details, code: err.code, version: Number(v.version) },
        });
      }
      throw err;
    }
  }
}

/** The whole of one service's secrets in an environment, as a policy resource. */
export function scopeOf(env: string, service: string): SecretScope {
  return { env, service, key: '*', path: `${env}/${service}/*` };
}

export function checkValue(value: string): void {
  if (typeof value !== 'string' || value.length === 0) {
    throw new IdpError('VALIDATION_FAILED', 'value: the value is empty', {
      field: 'value',
      hint: 'Pipe the value on stdin or use --from-file.',
    });
  }
}

export function notFound(path: string, row: SecretRow | undefined, version: number | undefined): IdpError {
  if (row && version !== undefined) {
    return new IdpError(
      'SECRET_NOT_FOUND',
      `secret ${path} has no version ${version} (current: ${row.current_version})`,
      { path, hint: `Run \`idp secret:versions ${path}\`.` },
    );
  }
  if (row?.deleted_at) {
    return new IdpError('SECRET_NOT_FOUND', `secret ${path} was deleted at ${row.deleted_at} by ${row.deleted_by}`, {
      path,
      hint: `Its versions are kept: \`idp secret:versions ${path}\`; set it again with \`idp secret:set ${path}\`.`,
    });
  }
  return new IdpError('SECRET_NOT_FOUND', `no secret at ${path}`, { path });
}

export function toMeta(row: SecretRow): SecretMeta {
  return {
    path: `${row.env}/${row.service}/${row.key}`,
    env: row.env,
    service: row.service,
    key: row.key,
    version: Number(row.current_version),
    createdAt: row.created_at,
    createdBy: row.created_by,
    updatedAt: row.updated_at,
    updatedBy: row.updated_by,
  };
}
