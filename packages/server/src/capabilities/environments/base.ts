import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Kysely } from 'kysely';
import { parse as parseYaml } from 'yaml';
import type { Clock, IdSource } from '../../clock.ts';
import type { Database } from '../../store/index.ts';
import type { SecretsService } from '../secrets/service.ts';
import { Snapshots } from './snapshots.ts';
import type { EnvironmentInfra, EnvironmentSettings } from './types.ts';

const SEED_ACTOR = 'system:seed';

export interface BaseSyncResult {
  /** One line per base environment for the start-up log: what it has and what is missing. */
  lines: string[];
}

/**
 * Makes the environments table agree with the config's base environments, and on first start
 * writes their demo seed data (a database with tables and rows, Redis keys, secrets). Seeding
 * only fills what is empty, so a restart never overwrites data someone changed. A store that is
 * down is reported, not fatal: the control plane still starts.
 */
export async function syncBaseEnvironments(opts: {
  db: Kysely<Database>;
  settings: EnvironmentSettings;
  infra: EnvironmentInfra;
  secrets: SecretsService;
  clock: Clock;
  ids: IdSource;
}): Promise<BaseSyncResult> {
  const { db, settings, infra, secrets, clock, ids } = opts;
  const now = clock.now().toISOString();
  const lines: string[] = [];
  const pgDown = infra.postgres ? await infra.postgres.check() : 'not configured';
  const redisDown = infra.redis ? await infra.redis.check() : 'not configured';

  const declared = new Set(Object.keys(settings.base));
  for (const row of await db
    .selectFrom('environments')
    .select(['id', 'name'])
    .where('kind', '=', 'base')
    .where('status', '<>', 'deleted')
    .execute()) {
    // Removed from the config: no longer a base (its resources are the platform team's to remove).
    if (!declared.has(row.name))
      await db
        .updateTable('environments')
        .set({ status: 'deleted', deleted_at: now })
        .where('id', '=', row.id)
        .execute();
  }

  for (const [name, base] of Object.entries(settings.base)) {
    const live = await db
      .selectFrom('environments')
      .selectAll()
      .where('name', '=', name)
      .where('status', '<>', 'deleted')
      .executeTakeFirst();
    const fields = {
      tier: base.tier,
      team: base.owner ?? null,
      namespace: name,
      database_name: base.database ?? null,
      redis_prefix: base.redisPrefix ?? null,
      secrets_note: `${name} vault`,
    };
    if (live && live.kind !== 'base') {
      lines.push(
        `${name}: NOT a base environment: an environment made with env:create has this name (delete it, or rename the base)`,
      );
      continue;
    }
    if (live) await db.updateTable('environments').set(fields).where('id', '=', live.id).execute();
    else {
      await db
        .insertInto('environments')
        .values({
          id: ids.next('env'),
          name,
          kind: 'base',
          source_env: null,
          owner_ref: null,
          owner_email: null,
          status: 'ready',
          ttl_seconds: null,
          created_at: now,
          ready_at: now,
          expires_at: null,
          deleted_at: null,
          notified_at: null,
          redis_user: null,
          snapshot: null,
          credentials: null,
          error_step: null,
          error_message: null,
          secrets_mode: 'copy',
          secret_placeholders: null,
          preview_repo: null,
          preview_number: null,
          ...fields,
        })
        .execute();
    }

    const parts: string[] = [];
    if (base.database) {
      if (pgDown)
        parts.push(
          `database ${base.database}: PostgreSQL ${infra.postgres ? `unreachable (${pgDown})` : 'not configured (postgres.adminUrl)'}`,
        );
      else {
        const created = await infra.postgres!.ensureDatabase(base.database, `idp:base:${name}`);
        if (created && base.seed?.sql)
          await infra.postgres!.exec(base.database, await readFile(resolve(settings.baseDir, base.seed.sql), 'utf8'));
        parts.push(`database ${base.database}${created ? ` (created${base.seed?.sql ? ', seeded' : ''})` : ''}`);
      }
    }
    if (base.redisPrefix) {
      if (redisDown)
        parts.push(
          `redis ${base.redisPrefix}*: Redis ${infra.redis ? `unreachable (${redisDown})` : 'not configured (redis.url)'}`,
        );
      else {
        let seeded = 0;
        if (base.seed?.redis && (await infra.redis!.countPrefix(base.redisPrefix)) === 0) {
          const entries = JSON.parse(await readFile(resolve(settings.baseDir, base.seed.redis), 'utf8')) as Record<
            string,
            unknown
          >;
          seeded = await infra.redis!.seed(base.redisPrefix, entries);
        }
        parts.push(`redis ${base.redisPrefix}*${seeded ? ` (seeded ${seeded} keys)` : ''}`);
      }
    }
    if (base.seed?.secrets && (await secrets.countEnvironment(name)) === 0) {
      const map = parseYaml(await readFile(resolve(settings.baseDir, base.seed.secrets), 'utf8')) as Record<
        string,
        unknown
      >;
      for (const [path, value] of Object.entries(map ?? {}))
        await secrets.setAsSystem(SEED_ACTOR, `${name}/${path}`, String(value));
      parts.push(`secrets (seeded ${Object.keys(map ?? {}).length})`);
    }
    lines.push(`${name} (${base.tier}): ${parts.join('; ') || 'no resources'}`);
  }
  // Before any environment step runs: snapshots of bases no longer configured, and those a crash
  // left behind (replaced but not dropped, or half-written), go.
  if (infra.postgres && !pgDown) {
    const dropped = await new Snapshots(db, infra.postgres, clock, () => {})
      .sweep(settings.base)
      .catch((err: Error) => {
        lines.push(`snapshots: not swept (${err.message})`);
        return [];
      });
    if (dropped.length) lines.push(`snapshots: dropped ${dropped.length} no longer needed (${dropped.join(', ')})`);
  }
  return { lines };
}
