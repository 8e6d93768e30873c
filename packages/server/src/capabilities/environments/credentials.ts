import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import { IdpError } from '@idp/contracts';
import type { Clock } from '../../clock.ts';
import type { Database } from '../../store/index.ts';
import type { SecretCipher } from '../secrets/crypto.ts';
import type { EnvironmentInfra, EnvRow } from './types.ts';

/** An environment's workload passwords: its PostgreSQL role's and its Redis ACL user's. */
export interface Credentials {
  database: string;
  redis: string;
}

/** idp_meta key of this control plane's instance id (written once, at the first start). */
export const INSTANCE_META = 'instance_id';

/**
 * This control plane's instance id: 8 hex characters made at its first start and kept in the
 * state store, so it survives restarts and is shared by processes of one control plane (one
 * state store) while two control planes (two state stores) never share one.
 */
export async function instanceId(db: Kysely<Database>, clock: Clock): Promise<string> {
  const stored = await db.selectFrom('idp_meta').select('value').where('key', '=', INSTANCE_META).executeTakeFirst();
  if (stored) return stored.value;
  await db
    .insertInto('idp_meta')
    .values({ key: INSTANCE_META, value: randomBytes(4).toString('hex'), updated_at: clock.now().toISOString() })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  // Another process of the same control plane may have written it first: its value counts.
  const row = await db
    .selectFrom('idp_meta')
    .select('value')
    .where('key', '=', INSTANCE_META)
    .executeTakeFirstOrThrow();
  return row.value;
}

/**
 * The Redis ACL user of an environment, `idp-<instance>-<name>`: `name` is `redis-<env>` for a
 * clone and the key prefix without its `:` for a base environment. ACL users live in the Redis
 * server, not in a key prefix, so without the instance two control planes sharing one Redis
 * would each reset the other's user (and its password) for a base of the same name.
 */
export function redisUserName(instance: string, name: string): string {
  return `idp-${instance}-${name}`;
}

/** The PostgreSQL role a workload uses: a clone's own (named like its database), a base's `<database>_app`. */
export function dbRoleOf(row: EnvRow): string {
  return row.kind === 'base' ? `${row.database_name!.slice(0, 58)}_app` : row.database_name!;
}

export function newCredentials(): Credentials {
  return { database: password(), redis: password() };
}

function password(): string {
  // Letters and digits only: safe in URLs, SQL literals and Redis ACL rules without escaping.
  return randomBytes(24)
    .toString('base64')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 28)
    .padEnd(28, 'x');
}

/**
 * The workload credentials of environments: made at env:create, sealed in the state store with
 * the secret store's cipher (bound to the environment's id), handed out as connection variables,
 * and for base environments made at start-up (ensureBaseAccess).
 */
export class EnvironmentCredentials {
  private instance: Promise<string> | null = null;

  constructor(
    private readonly deps: { db: Kysely<Database>; clock: Clock; cipher: SecretCipher; infra: EnvironmentInfra },
  ) {}

  seal(id: string, creds: Credentials): string {
    const s = this.deps.cipher.encrypt(JSON.stringify(creds), `env:${id}/credentials`, 1);
    return JSON.stringify(s);
  }

  unseal(row: EnvRow): Credentials {
    if (!row.credentials) throw new Error(`environment ${row.name} has no credentials`);
    return JSON.parse(
      this.deps.cipher.decrypt(JSON.parse(row.credentials), `env:${row.id}/credentials`, 1),
    ) as Credentials;
  }

  /** The ACL user name for `name` on this control plane (see redisUserName). */
  async redisUser(name: string): Promise<string> {
    return redisUserName(await this.instanceId(), name);
  }

  /** The variables a workload in this environment gets: DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX. */
  async variablesOf(row: EnvRow): Promise<Record<string, string>> {
    const variables: Record<string, string> = {};
    const { postgres, redis } = this.deps.infra;
    // Workloads never get the admin connection: clones have their own role and ACL user, base
    // environments the `<database>_app` role and `<prefix>` user made by ensureBaseAccess.
    if (!row.credentials) {
      throw new IdpError(
        'ENV_NOT_READY',
        `environment ${row.name} has no workload credentials yet (PostgreSQL or Redis was unreachable when the control plane started)`,
        {
          name: row.name,
          hint: 'Start the control plane again once PostgreSQL and Redis are reachable.',
        },
      );
    }
    const creds = this.unseal(row);
    if (row.database_name && postgres) {
      variables.DATABASE_URL = postgres.urlFor(row.database_name, dbRoleOf(row), creds.database);
    }
    if (row.redis_prefix && redis) {
      variables.REDIS_URL =
        row.redis_user && (await redis.supportsAcl())
          ? redis.urlFor(row.redis_user, creds.redis)
          : redis.urlFor(null, null);
      variables.REDIS_KEY_PREFIX = row.redis_prefix;
    }
    return variables;
  }

  /**
   * Base environments' workload credentials: a login role `<database>_app` with use of the base
   * database (not its ownership) and an ACL user limited to the base's key prefix, their
   * passwords sealed in the state store. Idempotent; run at start-up when the stores answer.
   */
  async ensureBaseAccess(): Promise<string[]> {
    const { postgres, redis } = this.deps.infra;
    const notes: string[] = [];
    const rows = await this.deps.db.selectFrom('environments').selectAll().where('status', '<>', 'deleted').execute();
    if (!rows.length) return notes;
    const pgUp = postgres !== null && (await postgres.check()) === null;
    const redisAcl = redis !== null && (await redis.check()) === null && (await redis.supportsAcl());
    const instance = await this.instanceId();
    for (const row of rows) {
      if (row.kind !== 'base') {
        // Clones keep their user; its rules are re-applied so an older, broader list is replaced.
        if (redisAcl && row.redis_user && row.redis_prefix && row.credentials && row.status === 'ready') {
          await redis!.ensureUser(row.redis_user, this.unseal(row).redis, row.redis_prefix);
        }
        continue;
      }
      const creds: Credentials = row.credentials ? this.unseal(row) : newCredentials();
      const marker = `idp:base:${row.database_name ?? row.name}`;
      if (row.database_name && pgUp) {
        await postgres!.ensureRole(dbRoleOf(row), creds.database, marker);
        await postgres!.grantUse(row.database_name, dbRoleOf(row));
      }
      const redisUser = row.redis_prefix ? redisUserName(instance, row.redis_prefix.replace(/:$/, '')) : null;
      if (redisUser && redisAcl) {
        await redis!.ensureUser(redisUser, creds.redis, row.redis_prefix!);
        // The user an earlier version named after the prefix alone is this base's no more.
        if (row.redis_user && row.redis_user !== redisUser) await redis!.deleteUser(row.redis_user);
      }
      await this.deps.db
        .updateTable('environments')
        .set({
          credentials: row.credentials ?? this.seal(row.id, creds),
          redis_user: redisAcl ? redisUser : (row.redis_user ?? redisUser),
        })
        .where('id', '=', row.id)
        .execute();
      notes.push(row.name);
    }
    return notes;
  }

  private instanceId(): Promise<string> {
    this.instance ??= instanceId(this.deps.db, this.deps.clock).catch((err: unknown) => {
      this.instance = null;
      throw err;
    });
    return this.instance;
  }
}
