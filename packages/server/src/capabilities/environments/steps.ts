import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { formatAge } from '@idp/core';
import type { Clock } from '../../clock.ts';
import type { Database } from '../../store/index.ts';
import type { AccessService } from '../access/service.ts';
import type { SecretsService } from '../secrets/service.ts';
import type { EnvironmentCredentials } from './credentials.ts';
import { missing, unavailable } from './infra.ts';
import type { Snapshots } from './snapshots.ts';
import {
  SYSTEM,
  type BaseEnvironmentConfig,
  type EnvironmentInfra,
  type EnvironmentSettings,
  type EnvRow,
  type NamespaceHook,
} from './types.ts';
import type { WorkflowSteps } from './workflow.ts';

/** What the steps work with. */
export interface StepTools {
  db: Kysely<Database>;
  clock: Clock;
  infra: EnvironmentInfra;
  settings: EnvironmentSettings;
  hooks: readonly NamespaceHook[];
  snapshots: Snapshots | null;
  secrets: SecretsService;
  access: AccessService;
  credentials: EnvironmentCredentials;
  namespaceDir(namespace: string): string;
}

/** What one run of a step gets. */
export interface StepInput {
  /** The environment as it is now (re-read before every step: an earlier one may have changed it). */
  row: EnvRow;
  /** 1 on the first run; more when a crash or a failure made it run again. */
  attempt: number;
  /** The base environment it clones, from the config. */
  source: BaseEnvironmentConfig | undefined;
}

/**
 * One resource of an environment. Both halves are idempotent, since a crash re-runs a half-done
 * one: `run` converges on the resource existing, `undo` on it being gone (also when `run` never
 * ran or stopped half-way). Each returns the detail line shown with the step.
 */
export interface StepDefinition {
  readonly name: string;
  run(t: StepTools, x: StepInput): Promise<string>;
  undo(t: StepTools, x: StepInput): Promise<string>;
}

/**
 * The steps of an environment, in order. Provisioning runs each one's `run` as the step of its
 * name; deletion runs each one's `undo` as `delete:<name>`, in the same order (not reversed: the
 * workloads in the namespace stop first, before the database and keys they use go away). The
 * names are stored in environment_steps and IDP_TEST_CRASH_AT: keep them.
 */
export const ENVIRONMENT_STEPS = [
  {
    name: 'namespace',
    async run(t, { row }) {
      const dir = t.namespaceDir(row.namespace);
      await mkdir(dir, { recursive: true, mode: 0o700 });
      for (const hook of t.hooks) await hook.onCreate?.(row.namespace);
      crashPoint('namespace');
      await writeFile(
        join(dir, 'namespace.json'),
        `${JSON.stringify({ namespace: row.namespace, env: row.name, owner: row.owner_ref }, null, 2)}\n`,
      );
      return `namespace ${row.namespace} (${dir})`;
    },
    async undo(t, { row }) {
      for (const hook of t.hooks) await hook.onDelete(row.namespace);
      crashPoint('delete:namespace');
      await rm(t.namespaceDir(row.namespace), { recursive: true, force: true });
      return `namespace ${row.namespace} removed`;
    },
  },
  {
    name: 'database',
    async run(t, { row, attempt, source }) {
      const { postgres } = t.infra;
      const snapshots = t.snapshots;
      if (!row.database_name || !source?.database) return 'none: the source has no database';
      if (!postgres || !snapshots) throw unavailable({ database: missing('postgres') });
      const creds = t.credentials.unseal(row);
      const marker = `idp:env:${row.id}`;
      return snapshots.withBase(row.source_env!, async () => {
        const snap = await snapshots.current(row.source_env!, source.database!);
        await postgres.ensureRole(row.database_name!, creds.database, marker);
        crashPoint('database');
        const intent = JSON.stringify({ database: snap.database, takenAt: snap.takenAt, creating: true });
        await postgres.cloneDatabase({
          template: snap.database,
          name: row.database_name!,
          owner: row.database_name!,
          marker,
          adoptUnmarked: attempt > 1 && row.snapshot !== null,
          beforeCreate: async () => {
            await t.db.updateTable('environments').set({ snapshot: intent }).where('id', '=', row.id).execute();
          },
          afterCreate: () => crashPoint('database:created'),
        });
        await t.db
          .updateTable('environments')
          .set({ snapshot: JSON.stringify({ database: snap.database, takenAt: snap.takenAt }) })
          .where('id', '=', row.id)
          .execute();
        const age = formatAge(Date.parse(t.clock.now().toISOString()) - Date.parse(snap.takenAt));
        return snap.fresh
          ? `${row.database_name}: new snapshot of ${row.source_env} (${source.database}, ${snap.durationMs} ms), then cloned`
          : `${row.database_name}: cloned from the ${row.source_env} snapshot of ${snap.takenAt} (${age} old; ${row.source_env} unchanged since)`;
      });
    },
    async undo(t, { row }) {
      const { postgres } = t.infra;
      if (!row.database_name) return 'no database';
      if (!postgres) throw unavailable({ database: missing('postgres') });
      const marker = `idp:env:${row.id}`;
      const said = {
        dropped: 'dropped',
        absent: 'already gone',
        foreign: 'not made by idp for this environment: left alone',
      };
      // An unmarked database is ours only if our database step got as far as CREATE DATABASE.
      const dropped = await postgres.dropDatabase(row.database_name, marker, row.snapshot !== null);
      crashPoint('delete:database');
      const role = await postgres.dropRole(row.database_name, marker);
      return `database ${row.database_name} ${said[dropped]}; role ${said[role]}`;
    },
  },
  {
    name: 'redis',
    async run(t, { row, source }) {
      const { redis } = t.infra;
      if (!row.redis_prefix || !source?.redisPrefix) return 'none: the source has no Redis keyspace';
      if (!redis) throw unavailable({ redis: missing('redis') });
      const creds = t.credentials.unseal(row);
      const acl = await redis.supportsAcl();
      if (acl && row.redis_user) await redis.ensureUser(row.redis_user, creds.redis, row.redis_prefix);
      crashPoint('redis');
      const copied = await redis.copyPrefix(source.redisPrefix, row.redis_prefix);
      return `${row.redis_prefix}* : ${copied} keys copied from ${source.redisPrefix}* with their TTLs; ${acl ? `ACL user ${row.redis_user} limited to ${row.redis_prefix}*` : 'no ACLs on this server: shared credentials'}`;
    },
    async undo(t, { row }) {
      const { redis } = t.infra;
      if (!row.redis_prefix) return 'no Redis keyspace';
      if (!redis) throw unavailable({ redis: missing('redis') });
      const deleted = await redis.deletePrefix(row.redis_prefix);
      crashPoint('delete:redis');
      const user = row.redis_user ? await redis.deleteUser(row.redis_user) : false;
      return `${deleted} keys deleted; ACL user ${user ? 'deleted' : 'already gone'}`;
    },
  },
  {
    name: 'secrets',
    async run(t, { row }) {
      crashPoint('secrets');
      if (row.secrets_mode === 'placeholders') {
        // The base's names only, with placeholder values: none of its values is read.
        const values = placeholderValues(row);
        const made = await t.secrets.placeholderEnvironment(
          row.source_env!,
          row.name,
          values,
          PLACEHOLDER,
          SYSTEM,
          row.id,
        );
        const total = await t.secrets.countEnvironment(row.name);
        return `${total} secrets (${made} made now) named as in ${row.source_env}, with placeholder values`;
      }
      const copied = await t.secrets.copyEnvironment(row.source_env!, row.name, SYSTEM, row.id);
      const total = await t.secrets.countEnvironment(row.name);
      return `${total} secrets (${copied} copied now) from ${row.source_env}`;
    },
    async undo(t, { row }) {
      const purged = await t.secrets.purgeEnvironment(row.name, SYSTEM, row.id);
      const revoked = await t.access.revokeEnvironment(row.name, SYSTEM, row.id);
      return `${purged} secrets deleted; ${revoked} access grants/requests revoked`;
    },
  },
] as const satisfies readonly StepDefinition[];

/** The value of a placeholder secret that the config gives no test value for. */
export const PLACEHOLDER = 'placeholder';

/** The per-name placeholder values recorded on the environment (JSON object of strings). */
function placeholderValues(row: EnvRow): Record<string, string> {
  if (!row.secret_placeholders) return {};
  const parsed = JSON.parse(row.secret_placeholders) as unknown;
  const out: Record<string, string> = {};
  if (parsed && typeof parsed === 'object')
    for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string' && v !== '') out[k] = v;
  return out;
}

export type StepName = (typeof ENVIRONMENT_STEPS)[number]['name'];

/** The table bound to its tools, as the workflow runs it: the create phase and the delete phase. */
export function workflowSteps(t: StepTools, table: readonly StepDefinition[] = ENVIRONMENT_STEPS): WorkflowSteps {
  const input = (row: EnvRow, attempt: number): StepInput => ({
    row,
    attempt,
    source: row.source_env ? t.settings.base[row.source_env] : undefined,
  });
  return {
    create: table.map((s) => ({ name: s.name, run: (row, attempt) => s.run(t, input(row, attempt)) })),
    delete: table.map((s) => ({ name: `delete:${s.name}`, run: (row, attempt) => s.undo(t, input(row, attempt)) })),
  };
}

/**
 * Test-only fault injection: IDP_TEST_CRASH_AT=<step> makes the control plane SIGKILL itself in
 * the middle of that step (after its first change), so the resume-after-crash tests can stop it
 * at every step deterministically. Unset in normal operation: the check is one comparison.
 */
function crashPoint(name: string): void {
  if (process.env.IDP_TEST_CRASH_AT === name) process.kill(process.pid, 'SIGKILL');
}
