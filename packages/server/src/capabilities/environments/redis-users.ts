import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Clock } from '../../clock.ts';
import type { Database } from '../../store/index.ts';

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
  await db.insertInto('idp_meta').values({ key: INSTANCE_META, value: randomBytes(4).toString('hex'), updated_at: clock.now().toISOString() })
    .onConflict((oc) => oc.column('key').doNothing()).execute();
  // Another process of the same control plane may have written it first: its value counts.
  const row = await db.selectFrom('idp_meta').select('value').where('key', '=', INSTANCE_META).executeTakeFirstOrThrow();
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
