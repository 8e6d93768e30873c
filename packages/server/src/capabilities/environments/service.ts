import { randomBytes } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import {
  IdpError,
  type CreateEnvironmentRequest,
  type Environment,
  type EnvironmentConnection,
  type EnvironmentListQuery,
  type EnvironmentStep,
} from '@idp/contracts';
import { formatDuration, parseDuration, type CedarEntity, type Decision } from '@idp/core';
import type { PostgresProvider } from '@idp/provider-postgres';
import type { RedisProvider } from '@idp/provider-redis';
import type { AuditLog } from '../../audit/index.ts';
import type { RequestContext } from '../../auth/context.ts';
import type { Clock, IdSource } from '../../clock.ts';
import type { Directory } from '../../identity/index.ts';
import { shortRef } from '../../identity/index.ts';
import type { PolicyGate } from '../../policy/gate.ts';
import type { Database } from '../../store/index.ts';
import type { SecretCipher } from '../secrets/crypto.ts';
import type { SecretsService } from '../secrets/service.ts';
import type { AccessService } from '../access/service.ts';
import type { WebhookNotifier } from '../access/notifier.ts';
import { assertEnvName, deriveNames } from './names.ts';
import { instanceId, redisUserName } from './redis-users.ts';
import { Snapshots } from './snapshots.ts';

type EnvRow = Database['environments'];
type StepRow = Database['environment_steps'];

export interface BaseEnvironmentConfig {
  tier: 'production' | 'staging' | 'development';
  owner?: string;
  database?: string;
  redisPrefix?: string;
  seed?: { sql?: string; redis?: string; secrets?: string };
}

export interface EnvironmentSettings {
  defaultTtl: string;
  reapInterval: string;
  notifyBefore: string;
  snapshotRefresh: string;
  base: Record<string, BaseEnvironmentConfig>;
  /** The config file's folder: seed paths are relative to it. */
  baseDir: string;
  dataDir: string;
}

export interface EnvironmentInfra {
  postgres: PostgresProvider | null;
  redis: RedisProvider | null;
  /** How each was configured, for messages: "postgres.adminUrl", "IDP_REDIS_URL", … */
  postgresSource: string;
  redisSource: string;
}

/** Something running in a namespace (the local runtime, later): stopped before the namespace is removed. */
export interface NamespaceHook {
  /** After the namespace's folder is made (e.g. its OS user and scratch space). */
  onCreate?(namespace: string): Promise<void>;
  onDelete(namespace: string): Promise<void>;
}

export interface EnvironmentDeps {
  db: Kysely<Database>;
  audit: AuditLog;
  gate: PolicyGate;
  directory: Directory;
  clock: Clock;
  ids: IdSource;
  cipher: SecretCipher;
  secrets: SecretsService;
  access: AccessService;
  notifier: WebhookNotifier;
  infra: EnvironmentInfra;
  settings: EnvironmentSettings;
  log: (line: string) => void;
}

interface Credentials {
  database: string;
  redis: string;
}

const CREATE_STEPS = ['namespace', 'database', 'redis', 'secrets'] as const;
const DELETE_STEPS = ['delete:namespace', 'delete:database', 'delete:redis', 'delete:secrets'] as const;
const SYSTEM = 'system:provisioner';

/**
 * Self-service environments. A request is validated, decided by Cedar and recorded (with its
 * steps, pending) in one transaction; the steps then run in the background, each recorded as it
 * starts and ends. A restart resumes every environment that was provisioning or deleting; each
 * step is idempotent, so re-running a half-done one converges.
 */
export class EnvironmentService {
  readonly snapshots: Snapshots | null;
  private readonly jobs = new Map<string, Promise<void>>();
  private readonly cancelled = new Set<string>();
  private readonly hooks: NamespaceHook[] = [];
  /** Live environments' tiers, for the secret store (sync lookups). */
  private readonly tiers = new Map<string, string>();
  private stopped = false;
  private instance: Promise<string> | null = null;

  constructor(private readonly deps: EnvironmentDeps) {
    this.snapshots = deps.infra.postgres ? new Snapshots(deps.db, deps.infra.postgres, deps.clock, deps.log) : null;
    deps.gate.registerResolver('Environment', async (name) => {
      const row = await this.live(name);
      return row ? { resource: this.entityOf(row) } : undefined;
    });
  }

  get settings(): EnvironmentSettings {
    return this.deps.settings;
  }

  get infra(): EnvironmentInfra {
    return this.deps.infra;
  }

  addNamespaceHook(hook: NamespaceHook): void {
    this.hooks.push(hook);
  }

  /** The tier of a live environment (a clone has its source's), or undefined when none has the name. */
  tierOf(env: string): string | undefined {
    return this.tiers.get(env);
  }

  async loadTiers(): Promise<void> {
    const rows = await this.deps.db.selectFrom('environments').select(['name', 'tier']).where('status', '<>', 'deleted').execute();
    this.tiers.clear();
    for (const r of rows) this.tiers.set(r.name, r.tier);
  }

  // ---------------------------------------------------------------- API operations

  async create(ctx: RequestContext, req: CreateEnvironmentRequest): Promise<Environment> {
    const name = assertEnvName(req.name, 'name');
    const base = this.deps.settings.base;
    if (Object.hasOwn(base, name)) {
      throw new IdpError('ENV_NAME_RESERVED', `"${name}" is a base environment`, { field: 'name' });
    }
    const from = typeof req.from === 'string' ? req.from : '';
    const source = Object.hasOwn(base, from) ? base[from]! : undefined;
    if (!source || (!source.database && !source.redisPrefix)) {
      const known = Object.entries(base).filter(([, b]) => b.database || b.redisPrefix).map(([n]) => n);
      throw new IdpError('ENV_SOURCE_INVALID', `--from: "${from.slice(0, 80)}" is not a base environment that can be cloned`, {
        field: 'from', known, hint: known.length ? `Clone one of: ${known.join(', ')}.` : 'Declare base environments under environments.base in the config.',
      });
    }
    const ttlText = req.ttl ?? this.deps.settings.defaultTtl;
    const ttlSeconds = parseDuration(ttlText, 'ttl');
    await this.assertInfra(from, source);

    const principal = ctx.principal;
    const ownerEmail = principal.email ?? shortRef(principal.ref);
    const team = this.primaryTeam(principal.ref);
    const owned = await this.deps.db.selectFrom('environments').select((eb) => eb.fn.countAll<number>().as('n'))
      .where('owner_ref', '=', principal.ref).where('kind', '=', 'ephemeral').where('status', '<>', 'deleted').executeTakeFirst();
    const resource: CedarEntity = {
      uid: { type: 'Environment', id: name },
      attrs: { owner: { type: 'User', id: shortRef(principal.ref) }, ...(team ? { team: { type: 'Group', id: team } } : {}), base: false, tier: source.tier, source: from },
      parents: [],
    };
    const context = { now: this.nowSeconds(), ttlSeconds, ownedEnvironments: Number(owned?.n ?? 0) };
    const decision = await this.enforce(ctx, 'env:create', resource, context);

    const names = deriveNames(name, ownerEmail);
    const id = this.deps.ids.next('env');
    const now = this.deps.clock.now();
    const creds: Credentials = { database: password(), redis: password() };
    const row: EnvRow = {
      id, name, kind: 'ephemeral', source_env: from, owner_ref: principal.ref, owner_email: ownerEmail, team, tier: source.tier,
      status: 'provisioning', ttl_seconds: ttlSeconds, created_at: now.toISOString(), ready_at: null,
      expires_at: new Date(now.getTime() + ttlSeconds * 1000).toISOString(), deleted_at: null, notified_at: null,
      namespace: names.namespace,
      database_name: source.database ? names.database : null,
      redis_prefix: source.redisPrefix ? names.redisPrefix : null,
      redis_user: source.redisPrefix ? redisUserName(await this.instanceId(), names.redisUser) : null,
      snapshot: null,
      secrets_note: `copied from ${from} vault`,
      credentials: this.seal(id, creds),
      error_step: null, error_message: null,
    };
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        await trx.insertInto('environments').values(row).execute();
        await trx.insertInto('environment_steps').values(CREATE_STEPS.map((step, position) => pendingStep(id, position, step))).execute();
        await this.deps.audit.append({
          actor: principal.ref, action: 'env:create', target: `environment:${name}`, decision: 'allow', policyIds: decision.permittedBy,
          requestId: ctx.requestId, details: { from, ttl: formatDuration(ttlSeconds), namespace: names.namespace },
        }, trx);
      });
    } catch (err) {
      if (!(err instanceof IdpError) && /unique|duplicate key/i.test((err as Error).message)) {
        throw new IdpError('ENV_EXISTS', `environment ${name} already exists`, { name, field: 'name' });
      }
      throw err;
    }
    this.tiers.set(name, source.tier);
    this.schedule(id, 'create');
    return this.view(row, await this.stepsOf(id));
  }

  async list(ctx: RequestContext, q: EnvironmentListQuery): Promise<Environment[]> {
    let query = this.deps.db.selectFrom('environments').selectAll().orderBy('created_at', 'desc').limit(500);
    if (q.includeDeleted !== 'true') query = query.where('status', '<>', 'deleted');
    if ((q.scope ?? 'mine') === 'mine') query = query.where('owner_ref', '=', ctx.principal.ref);
    const rows = await query.execute();
    const visible = rows.filter((r) => this.deps.gate.decide(ctx.principal.ref, { action: 'env:read', resource: this.entityOf(r), context: { now: this.nowSeconds() } }).decision === 'allow');
    const steps = await this.stepsFor(visible.map((r) => r.id));
    return visible.map((r) => this.view(r, steps.get(r.id) ?? []));
  }

  async get(ctx: RequestContext, name: string): Promise<Environment> {
    const row = await this.latest(assertEnvName(name, 'name'));
    if (!row) throw notFound(name);
    await this.enforce(ctx, 'env:read', this.entityOf(row), { now: this.nowSeconds() });
    return this.view(row, await this.stepsOf(row.id));
  }

  async extend(ctx: RequestContext, name: string, ttlText: string): Promise<Environment> {
    const row = await this.live(assertEnvName(name, 'name'));
    if (!row) throw notFound(name);
    const ttlSeconds = parseDuration(ttlText, 'ttl');
    this.assertNotBase(row, 'extended');
    const decision = await this.enforce(ctx, 'env:extend', this.entityOf(row), { now: this.nowSeconds(), ttlSeconds });
    if (row.status === 'deleting') throw notReady(row, 'extended');
    const expiresAt = new Date(this.deps.clock.now().getTime() + ttlSeconds * 1000).toISOString();
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.updateTable('environments').set({ expires_at: expiresAt, ttl_seconds: ttlSeconds, notified_at: null }).where('id', '=', row.id).execute();
      await this.deps.audit.append({
        actor: ctx.principal.ref, action: 'env:extend', target: `environment:${row.name}`, decision: 'allow', policyIds: decision.permittedBy,
        requestId: ctx.requestId, details: { ttl: formatDuration(ttlSeconds), previousExpiresAt: row.expires_at, expiresAt },
      }, trx);
    });
    return this.get(ctx, name);
  }

  async delete(ctx: RequestContext, name: string): Promise<Environment> {
    const row = await this.live(assertEnvName(name, 'name'));
    if (!row) throw notFound(name);
    this.assertNotBase(row, 'deleted');
    const decision = await this.enforce(ctx, 'env:delete', this.entityOf(row), { now: this.nowSeconds() });
    await this.startDelete(row, ctx.principal.ref, ctx.requestId, { policyIds: decision.permittedBy });
    return this.get(ctx, name);
  }

  async connect(ctx: RequestContext, name: string): Promise<EnvironmentConnection> {
    const row = await this.live(assertEnvName(name, 'name'));
    if (!row) throw notFound(name);
    const decision = await this.enforce(ctx, 'env:connect', this.entityOf(row), { now: this.nowSeconds() });
    if (row.status !== 'ready') throw notReady(row, 'connected to');
    const variables = await this.variablesOf(row);
    await this.deps.audit.append({
      actor: ctx.principal.ref, action: 'env:connect', target: `environment:${row.name}`, decision: 'allow', policyIds: decision.permittedBy,
      requestId: ctx.requestId, details: { variables: Object.keys(variables) },
    });
    return { env: row.name, variables };
  }

  /**
   * The variables a workload in this environment gets (DATABASE_URL, REDIS_URL,
   * REDIS_KEY_PREFIX), for the deployments capability: no policy here, the deploy was decided.
   */
  async runtimeVariables(name: string): Promise<{ namespace: string; tier: string; variables: Record<string, string> }> {
    const row = await this.live(assertEnvName(name, 'env'));
    if (!row) throw notFound(name);
    if (row.status !== 'ready') throw notReady(row, 'deployed to');
    return { namespace: row.namespace, tier: row.tier, variables: await this.variablesOf(row) };
  }

  private async variablesOf(row: EnvRow): Promise<Record<string, string>> {
    const variables: Record<string, string> = {};
    const { postgres, redis } = this.deps.infra;
    // Workloads never get the admin connection: clones have their own role and ACL user, base
    // environments the `<database>_app` role and `<prefix>` user made by ensureBaseAccess.
    if (!row.credentials) {
      throw new IdpError('ENV_NOT_READY', `environment ${row.name} has no workload credentials yet (PostgreSQL or Redis was unreachable when the control plane started)`, {
        name: row.name, hint: 'Start the control plane again once PostgreSQL and Redis are reachable.',
      });
    }
    const creds = this.unseal(row);
    if (row.database_name && postgres) {
      variables.DATABASE_URL = postgres.urlFor(row.database_name, dbRoleOf(row), creds.database);
    }
    if (row.redis_prefix && redis) {
      variables.REDIS_URL = row.redis_user && (await redis.supportsAcl()) ? redis.urlFor(row.redis_user, creds.redis) : redis.urlFor(null, null);
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
      const creds: Credentials = row.credentials ? this.unseal(row) : { database: password(), redis: password() };
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
      await this.deps.db.updateTable('environments').set({ credentials: row.credentials ?? this.seal(row.id, creds), redis_user: redisAcl ? redisUser : row.redis_user ?? redisUser }).where('id', '=', row.id).execute();
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

  // ---------------------------------------------------------------- lifecycle

  /** Resumes what a previous process left provisioning or deleting. */
  async resume(): Promise<number> {
    const rows = await this.deps.db.selectFrom('environments').select(['id', 'name', 'status']).where('status', 'in', ['provisioning', 'deleting']).execute();
    for (const r of rows) {
      this.deps.log(`environments: resuming ${r.status === 'deleting' ? 'deletion' : 'provisioning'} of ${r.name}`);
      this.schedule(r.id, r.status === 'deleting' ? 'delete' : 'create');
    }
    return rows.length;
  }

  /** Waits for every running job (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.jobs.size) await Promise.allSettled([...this.jobs.values()]);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const id of this.jobs.keys()) this.cancelled.add(id);
    await this.idle();
  }

  /** Marks an environment for deletion and runs the delete steps (after any provisioning job stops). */
  async startDelete(row: EnvRow, actor: string, requestId: string, extra: { policyIds?: string[]; reason?: string } = {}): Promise<void> {
    if (row.status === 'deleting' && this.jobs.has(row.id)) return;
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.updateTable('environments').set({ status: 'deleting', error_step: null, error_message: null }).where('id', '=', row.id).execute();
      const existing = new Set((await trx.selectFrom('environment_steps').select('name').where('env_id', '=', row.id).execute()).map((s) => s.name));
      for (const [i, step] of DELETE_STEPS.entries()) {
        if (existing.has(step)) {
          await trx.updateTable('environment_steps').set({ status: 'pending', error: null }).where('env_id', '=', row.id).where('name', '=', step).where('status', '<>', 'done').execute();
        } else {
          await trx.insertInto('environment_steps').values(pendingStep(row.id, 100 + i, step)).execute();
        }
      }
      await this.deps.audit.append({
        actor, action: 'env:delete', target: `environment:${row.name}`, decision: 'allow', policyIds: extra.policyIds ?? [], requestId,
        details: { previousStatus: row.status, ...(extra.reason ? { reason: extra.reason } : {}) },
      }, trx);
    });
    const running = this.jobs.get(row.id);
    if (running) {
      // Provisioning stops between steps; the delete steps then undo whatever it made.
      this.cancelled.add(row.id);
      await running.catch(() => {});
    }
    this.schedule(row.id, 'delete');
  }

  private schedule(id: string, kind: 'create' | 'delete'): void {
    if (this.stopped) return;
    const prev = this.jobs.get(id) ?? Promise.resolve();
    const job = prev.catch(() => {}).then(async () => {
      this.cancelled.delete(id);
      await (kind === 'create' ? this.provision(id) : this.teardown(id));
    }).catch((err: Error) => this.deps.log(`environments: ${kind} job for ${id} stopped: ${err.message}`))
      .finally(() => {
        if (this.jobs.get(id) === job) this.jobs.delete(id);
      });
    this.jobs.set(id, job);
  }

  private async provision(id: string): Promise<void> {
    const row = await this.byId(id);
    if (!row || row.status !== 'provisioning') return;
    const ok = await this.runSteps(row, CREATE_STEPS);
    if (!ok) return;
    const fresh = (await this.byId(id))!;
    if (fresh.status !== 'provisioning') return;
    const readyAt = this.deps.clock.now().toISOString();
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.updateTable('environments').set({ status: 'ready', ready_at: readyAt }).where('id', '=', id).where('status', '=', 'provisioning').execute();
      await this.deps.audit.append({
        actor: SYSTEM, action: 'env:ready', target: `environment:${row.name}`, decision: 'allow', requestId: id,
        details: { owner: row.owner_ref, provisioningMs: Date.parse(readyAt) - Date.parse(row.created_at) },
      }, trx);
    });
  }

  private async teardown(id: string): Promise<void> {
    const row = await this.byId(id);
    if (!row || row.status !== 'deleting') return;
    const ok = await this.runSteps(row, DELETE_STEPS);
    if (!ok) return;
    const deletedAt = this.deps.clock.now().toISOString();
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.updateTable('environments').set({ status: 'deleted', deleted_at: deletedAt, credentials: null }).where('id', '=', id).execute();
      await this.deps.audit.append({ actor: SYSTEM, action: 'env:deleted', target: `environment:${row.name}`, decision: 'allow', requestId: id, details: { owner: row.owner_ref } }, trx);
    });
    this.tiers.delete(row.name);
  }

  /** Runs the steps not yet done, in order; false when one failed or the job was cancelled. */
  private async runSteps(row: EnvRow, names: readonly string[]): Promise<boolean> {
    const steps = await this.stepsOf(row.id);
    for (const name of names) {
      const step = steps.find((s) => s.name === name);
      if (!step || step.status === 'done') continue;
      if (this.cancelled.has(row.id)) return false;
      const started = performance.now();
      const startedAt = this.deps.clock.now().toISOString();
      const attempts = Number(step.attempts) + 1;
      await this.deps.db.updateTable('environment_steps').set({ status: 'running', started_at: startedAt, finished_at: null, duration_ms: null, attempts, error: null })
        .where('env_id', '=', row.id).where('name', '=', name).execute();
      try {
        const current = (await this.byId(row.id))!;
        const detail = await this.runStep(current, name, attempts);
        await this.deps.db.updateTable('environment_steps').set({
          status: 'done', finished_at: this.deps.clock.now().toISOString(), duration_ms: Math.round(performance.now() - started), detail,
        }).where('env_id', '=', row.id).where('name', '=', name).execute();
      } catch (err) {
        const message = err instanceof IdpError ? `${err.code}: ${err.message}` : (err as Error).message || String(err);
        await this.deps.db.transaction().execute(async (trx) => {
          await trx.updateTable('environment_steps').set({
            status: 'failed', finished_at: this.deps.clock.now().toISOString(), duration_ms: Math.round(performance.now() - started), error: message,
          }).where('env_id', '=', row.id).where('name', '=', name).execute();
          await trx.updateTable('environments').set({ status: 'failed', error_step: name, error_message: message }).where('id', '=', row.id).execute();
          await this.deps.audit.append({ actor: SYSTEM, action: name.startsWith('delete:') ? 'env:delete' : 'env:provision', target: `environment:${row.name}`, decision: 'error', requestId: row.id, details: { step: name, error: message } }, trx);
        });
        this.deps.log(`environments: ${row.name}: step ${name} failed: ${message}`);
        return false;
      }
    }
    return true;
  }

  private async runStep(row: EnvRow, name: string, attempt: number): Promise<string> {
    const { postgres, redis } = this.deps.infra;
    const source = row.source_env ? this.deps.settings.base[row.source_env] : undefined;
    switch (name) {
      case 'namespace': {
        const dir = this.namespaceDir(row.namespace);
        await mkdir(dir, { recursive: true, mode: 0o700 });
        for (const hook of this.hooks) await hook.onCreate?.(row.namespace);
        crashPoint('namespace');
        await writeFile(join(dir, 'namespace.json'), `${JSON.stringify({ namespace: row.namespace, env: row.name, owner: row.owner_ref }, null, 2)}\n`);
        return `namespace ${row.namespace} (${dir})`;
      }
      case 'database': {
        if (!row.database_name || !source?.database) return 'none: the source has no database';
        if (!postgres || !this.snapshots) throw this.unavailable({ database: this.missing('postgres') });
        const creds = this.unseal(row);
        const marker = `idp:env:${row.id}`;
        return this.snapshots.withBase(row.source_env!, async () => {
          const snap = await this.snapshots!.current(row.source_env!, source.database!);
          await postgres.ensureRole(row.database_name!, creds.database, marker);
          crashPoint('database');
          const intent = JSON.stringify({ database: snap.database, takenAt: snap.takenAt, creating: true });
          await postgres.cloneDatabase({
            template: snap.database, name: row.database_name!, owner: row.database_name!, marker,
            adoptUnmarked: attempt > 1 && row.snapshot !== null,
            beforeCreate: async () => { await this.deps.db.updateTable('environments').set({ snapshot: intent }).where('id', '=', row.id).execute(); },
            afterCreate: () => crashPoint('database:created'),
          });
          await this.deps.db.updateTable('environments').set({ snapshot: JSON.stringify({ database: snap.database, takenAt: snap.takenAt }) }).where('id', '=', row.id).execute();
          const age = formatAge(Date.parse(this.deps.clock.now().toISOString()) - Date.parse(snap.takenAt));
          return snap.fresh
            ? `${row.database_name}: new snapshot of ${row.source_env} (${source.database}, ${snap.durationMs} ms), then cloned`
            : `${row.database_name}: cloned from the ${row.source_env} snapshot of ${snap.takenAt} (${age} old; ${row.source_env} unchanged since)`;
        });
      }
      case 'redis': {
        if (!row.redis_prefix || !source?.redisPrefix) return 'none: the source has no Redis keyspace';
        if (!redis) throw this.unavailable({ redis: this.missing('redis') });
        const creds = this.unseal(row);
        const acl = await redis.supportsAcl();
        if (acl && row.redis_user) await redis.ensureUser(row.redis_user, creds.redis, row.redis_prefix);
        crashPoint('redis');
        const copied = await redis.copyPrefix(source.redisPrefix, row.redis_prefix);
        return `${row.redis_prefix}* : ${copied} keys copied from ${source.redisPrefix}* with their TTLs; ${acl ? `ACL user ${row.redis_user} limited to ${row.redis_prefix}*` : 'no ACLs on this server: shared credentials'}`;
      }
      case 'secrets': {
        crashPoint('secrets');
        const copied = await this.deps.secrets.copyEnvironment(row.source_env!, row.name, SYSTEM, row.id);
        const total = await this.deps.secrets.countEnvironment(row.name);
        return `${total} secrets (${copied} copied now) from ${row.source_env}`;
      }
      case 'delete:namespace': {
        for (const hook of this.hooks) await hook.onDelete(row.namespace);
        crashPoint('delete:namespace');
        await rm(this.namespaceDir(row.namespace), { recursive: true, force: true });
        return `namespace ${row.namespace} removed`;
      }
      case 'delete:database': {
        if (!row.database_name) return 'no database';
        if (!postgres) throw this.unavailable({ database: this.missing('postgres') });
        const marker = `idp:env:${row.id}`;
        const said = { dropped: 'dropped', absent: 'already gone', foreign: 'not made by idp for this environment: left alone' };
        // An unmarked database is ours only if our database step got as far as CREATE DATABASE.
        const dropped = await postgres.dropDatabase(row.database_name, marker, row.snapshot !== null);
        crashPoint('delete:database');
        const role = await postgres.dropRole(row.database_name, marker);
        return `database ${row.database_name} ${said[dropped]}; role ${said[role]}`;
      }
      case 'delete:redis': {
        if (!row.redis_prefix) return 'no Redis keyspace';
        if (!redis) throw this.unavailable({ redis: this.missing('redis') });
        const deleted = await redis.deletePrefix(row.redis_prefix);
        crashPoint('delete:redis');
        const user = row.redis_user ? await redis.deleteUser(row.redis_user) : false;
        return `${deleted} keys deleted; ACL user ${user ? 'deleted' : 'already gone'}`;
      }
      case 'delete:secrets': {
        const purged = await this.deps.secrets.purgeEnvironment(row.name, SYSTEM, row.id);
        const revoked = await this.deps.access.revokeEnvironment(row.name, SYSTEM, row.id);
        return `${purged} secrets deleted; ${revoked} access grants/requests revoked`;
      }
      default:
        throw new Error(`unknown step ${name}`);
    }
  }

  // ---------------------------------------------------------------- helpers

  namespaceDir(namespace: string): string {
    return join(this.deps.settings.dataDir, 'namespaces', namespace);
  }

  /** Fails fast, before anything is recorded, when a store the source needs is missing or down. */
  private async assertInfra(from: string, source: BaseEnvironmentConfig): Promise<void> {
    const problems: Record<string, string> = {};
    if (source.database) {
      const pg = this.deps.infra.postgres;
      const why = pg ? await pg.check() : null;
      if (!pg) problems.database = this.missing('postgres');
      else if (why) problems.database = `PostgreSQL at ${pg.endpoint.host}:${pg.endpoint.port} (${this.deps.infra.postgresSource}) is unreachable: ${why}`;
    }
    if (source.redisPrefix) {
      const r = this.deps.infra.redis;
      const why = r ? await r.check() : null;
      if (!r) problems.redis = this.missing('redis');
      else if (why) problems.redis = `Redis at ${r.endpoint.host}:${r.endpoint.port} (${this.deps.infra.redisSource}) is unreachable: ${why}`;
    }
    if (Object.keys(problems).length) throw this.unavailable(problems, from);
  }

  private missing(kind: 'postgres' | 'redis'): string {
    return kind === 'postgres'
      ? 'no PostgreSQL is configured: set postgres.adminUrl in the config (or IDP_POSTGRES_ADMIN_URL), e.g. postgres://postgres@127.0.0.1:5432/postgres'
      : 'no Redis is configured: set redis.url in the config (or IDP_REDIS_URL), e.g. redis://127.0.0.1:6379';
  }

  private unavailable(problems: Record<string, string>, from?: string): IdpError {
    const lines = Object.entries(problems).map(([k, v]) => `${k}: ${v}`).join('; ');
    return new IdpError('ENV_PROVIDER_UNAVAILABLE', `cannot make ${from ? `a copy of ${from}` : 'this environment'}: ${lines}`, { resources: problems });
  }

  private async enforce(ctx: RequestContext, action: string, resource: CedarEntity, context: Record<string, unknown>): Promise<Decision> {
    const decision = this.deps.gate.decide(ctx.principal.ref, { action, resource, context });
    if (decision.decision === 'allow') return decision;
    // Name the limit when it alone is the problem: the same request without it would pass.
    const without = (field: string) => {
      const rest = { ...context };
      delete rest[field];
      return this.deps.gate.decide(ctx.principal.ref, { action, resource, context: rest }).decision === 'allow';
    };
    const req = { action, resource, context };
    if (context.ttlSeconds !== undefined && without('ttlSeconds')) {
      return this.deps.gate.refuse(ctx, req, decision, new IdpError('ENV_TTL_TOO_LONG', `ttl ${formatDuration(context.ttlSeconds as number)} is longer than the policies allow (${decision.forbiddenBy.join(', ')})`, {
        field: 'ttl', forbiddenBy: decision.forbiddenBy, hint: 'Ask for a shorter --ttl (the default policy allows 14d at most); extend it later with `idp env:extend`.',
      }));
    }
    if (context.ownedEnvironments !== undefined && without('ownedEnvironments')) {
      return this.deps.gate.refuse(ctx, req, decision, new IdpError('ENV_QUOTA_EXCEEDED', `you already own ${context.ownedEnvironments} environments, the most the policies allow (${decision.forbiddenBy.join(', ')})`, {
        owned: context.ownedEnvironments, forbiddenBy: decision.forbiddenBy,
      }));
    }
    return this.deps.gate.enforce(ctx, req);
  }

  private assertNotBase(row: EnvRow, verb: string): void {
    if (row.kind === 'base') {
      throw new IdpError('ENV_BASE_PROTECTED', `${row.name} is a base environment: it is not ${verb} through env commands`, { name: row.name });
    }
  }

  private primaryTeam(userRef: string): string | null {
    const direct = this.deps.directory.users.get(userRef)?.memberOf ?? [];
    const first = [...direct].sort()[0];
    return first ? shortRef(first) : (this.deps.directory.teamsOf(userRef)[0] ?? null);
  }

  entityOf(row: EnvRow): CedarEntity {
    const attrs: Record<string, unknown> = { base: row.kind === 'base', tier: row.tier };
    if (row.owner_ref) attrs.owner = { type: 'User', id: shortRef(row.owner_ref) };
    if (row.team) attrs.team = { type: 'Group', id: row.team };
    if (row.source_env) attrs.source = row.source_env;
    return { uid: { type: 'Environment', id: row.name }, attrs, parents: [] };
  }

  private seal(id: string, creds: Credentials): string {
    const s = this.deps.cipher.encrypt(JSON.stringify(creds), `env:${id}/credentials`, 1);
    return JSON.stringify(s);
  }

  private unseal(row: EnvRow): Credentials {
    if (!row.credentials) throw new Error(`environment ${row.name} has no credentials`);
    return JSON.parse(this.deps.cipher.decrypt(JSON.parse(row.credentials), `env:${row.id}/credentials`, 1)) as Credentials;
  }

  private nowSeconds(): number {
    return Math.floor(this.deps.clock.now().getTime() / 1000);
  }

  async live(name: string): Promise<EnvRow | undefined> {
    return this.deps.db.selectFrom('environments').selectAll().where('name', '=', name).where('status', '<>', 'deleted').executeTakeFirst();
  }

  /** The live environment of this name, else the most recently deleted one. */
  private async latest(name: string): Promise<EnvRow | undefined> {
    return (await this.live(name))
      ?? this.deps.db.selectFrom('environments').selectAll().where('name', '=', name).orderBy('created_at', 'desc').limit(1).executeTakeFirst();
  }

  async byId(id: string): Promise<EnvRow | undefined> {
    return this.deps.db.selectFrom('environments').selectAll().where('id', '=', id).executeTakeFirst();
  }

  private async stepsOf(id: string): Promise<StepRow[]> {
    return this.deps.db.selectFrom('environment_steps').selectAll().where('env_id', '=', id).orderBy('position').execute();
  }

  private async stepsFor(ids: string[]): Promise<Map<string, StepRow[]>> {
    const out = new Map<string, StepRow[]>();
    if (!ids.length) return out;
    const rows = await this.deps.db.selectFrom('environment_steps').selectAll().where('env_id', 'in', ids).orderBy('position').execute();
    for (const r of rows) out.set(r.env_id, [...(out.get(r.env_id) ?? []), r]);
    return out;
  }

  view(row: EnvRow, steps: StepRow[]): Environment {
    const { postgres, redis } = this.deps.infra;
    const ready = row.ready_at ? Date.parse(row.ready_at) - Date.parse(row.created_at) : null;
    return {
      name: row.name,
      kind: row.kind === 'base' ? 'base' : 'ephemeral',
      sourceEnv: row.source_env,
      owner: row.owner_email,
      ownerRef: row.owner_ref,
      team: row.team,
      tier: row.tier,
      status: row.status as Environment['status'],
      ttl: row.ttl_seconds === null ? null : formatDuration(Number(row.ttl_seconds)),
      createdAt: row.created_at,
      readyAt: row.ready_at,
      expiresAt: row.expires_at,
      deletedAt: row.deleted_at,
      provisioningMs: row.kind === 'base' ? null : ready,
      resources: {
        namespace: row.namespace,
        database: row.database_name,
        redis: row.redis_prefix ? row.redis_prefix.replace(/:$/, '') : null,
        secrets: row.secrets_note,
      },
      endpoints: {
        database: row.database_name && postgres
          ? { host: postgres.endpoint.host, port: postgres.endpoint.port, database: row.database_name, user: row.kind === 'base' ? 'admin' : row.database_name }
          : null,
        redis: row.redis_prefix && redis
          ? { host: redis.endpoint.host, port: redis.endpoint.port, db: redis.endpoint.db, user: row.kind === 'base' ? null : row.redis_user, keyPrefix: row.redis_prefix }
          : null,
      },
      steps: steps.map(stepView),
      error: row.error_step ? { step: row.error_step, message: row.error_message ?? '' } : null,
    };
  }
}

/** The PostgreSQL role a workload uses: a clone's own (named like its database), a base's `<database>_app`. */
function dbRoleOf(row: EnvRow): string {
  return row.kind === 'base' ? `${row.database_name!.slice(0, 58)}_app` : row.database_name!;
}

function stepView(s: StepRow): EnvironmentStep {
  return {
    name: s.name,
    status: s.status as EnvironmentStep['status'],
    startedAt: s.started_at,
    finishedAt: s.finished_at,
    durationMs: s.duration_ms === null ? null : Number(s.duration_ms),
    attempts: Number(s.attempts),
    detail: s.detail,
    error: s.error,
  };
}

function pendingStep(envId: string, position: number, name: string): StepRow {
  return { env_id: envId, position, name, status: 'pending', started_at: null, finished_at: null, duration_ms: null, attempts: 0, detail: null, error: null };
}

function password(): string {
  // Letters and digits only: safe in URLs, SQL literals and Redis ACL rules without escaping.
  return randomBytes(24).toString('base64').replace(/[^A-Za-z0-9]/g, '').slice(0, 28).padEnd(28, 'x');
}

function notFound(name: string): IdpError {
  return new IdpError('ENV_NOT_FOUND', `no environment named ${String(name).slice(0, 80)}`, { name });
}

function notReady(row: EnvRow, verb: string): IdpError {
  return new IdpError('ENV_NOT_READY', `environment ${row.name} is ${row.status}${row.error_step ? ` (step ${row.error_step} failed: ${row.error_message})` : ''}, so it cannot be ${verb}`, {
    name: row.name, status: row.status,
  });
}

function formatAge(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

/**
 * Test-only fault injection: IDP_TEST_CRASH_AT=<step> makes the control plane SIGKILL itself in
 * the middle of that step (after its first change), so the resume-after-crash tests can stop it
 * at every step deterministically. Unset in normal operation: the check is one comparison.
 */
function crashPoint(name: string): void {
  if (process.env.IDP_TEST_CRASH_AT === name) process.kill(process.pid, 'SIGKILL');
}
