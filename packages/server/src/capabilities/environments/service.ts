import { join } from 'node:path';
import type { Kysely } from 'kysely';
import {
  IdpError,
  type CreateEnvironmentRequest,
  type Environment,
  type EnvironmentConnection,
  type EnvironmentListQuery,
} from '@idp/contracts';
import { formatDuration, parseDuration, shortRef, type CedarEntity, type Decision } from '@idp/core';
import type { AuditLog } from '../../audit/index.ts';
import type { RequestContext } from '../../auth/context.ts';
import type { Clock, IdSource } from '../../clock.ts';
import type { Directory } from '../../identity/index.ts';
import type { PolicyGate } from '../../policy/gate.ts';
import { isUniqueViolation, type Database } from '../../store/index.ts';
import type { SecretCipher } from '../secrets/crypto.ts';
import type { SecretsService } from '../secrets/service.ts';
import type { AccessService } from '../access/service.ts';
import type { WebhookNotifier } from '../access/notifier.ts';
import { EnvironmentCredentials, newCredentials } from './credentials.ts';
import { assertInfra } from './infra.ts';
import { assertEnvName, deriveNames } from './names.ts';
import { Snapshots } from './snapshots.ts';
import { cloneableBases, cloneEntity, sourceInvalid, wouldCreate } from './sources.ts';
import { workflowSteps } from './steps.ts';
import { EnvironmentStore } from './store.ts';
import type { EnvironmentInfra, EnvironmentSettings, EnvRow, NamespaceHook, StepRow } from './types.ts';
import { environmentEntity, environmentView } from './view.ts';
import { StepWorkflow } from './workflow.ts';

export type { BaseEnvironmentConfig, EnvironmentInfra, EnvironmentSettings, NamespaceHook } from './types.ts';

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

/**
 * Self-service environments. A request is validated, decided by Cedar and recorded (with its
 * steps, pending) in one transaction; the steps (steps.ts) then run in the background
 * (workflow.ts), each recorded as it starts and ends. A restart resumes every environment that
 * was provisioning or deleting; each step is idempotent, so re-running a half-done one converges.
 */
export class EnvironmentService {
  readonly snapshots: Snapshots | null;
  private readonly hooks: NamespaceHook[] = [];
  /** Live environments' tiers, for the secret store (sync lookups). */
  private readonly tiers = new Map<string, string>();
  private readonly store: EnvironmentStore;
  private readonly credentials: EnvironmentCredentials;
  private readonly workflow: StepWorkflow;

  constructor(private readonly deps: EnvironmentDeps) {
    this.snapshots = deps.infra.postgres ? new Snapshots(deps.db, deps.infra.postgres, deps.clock, deps.log) : null;
    this.store = new EnvironmentStore(deps.db);
    this.credentials = new EnvironmentCredentials({
      db: deps.db,
      clock: deps.clock,
      cipher: deps.cipher,
      infra: deps.infra,
    });
    this.workflow = new StepWorkflow({
      db: deps.db,
      audit: deps.audit,
      clock: deps.clock,
      store: this.store,
      log: deps.log,
      steps: workflowSteps({
        db: deps.db,
        clock: deps.clock,
        infra: deps.infra,
        settings: deps.settings,
        hooks: this.hooks,
        snapshots: this.snapshots,
        secrets: deps.secrets,
        access: deps.access,
        credentials: this.credentials,
        namespaceDir: (ns) => this.namespaceDir(ns),
      }),
      onDeleted: (row) => this.tiers.delete(row.name),
    });
    deps.gate.registerResolver('Environment', async (name, question) => {
      const row = await this.live(name);
      if (row) return { resource: this.entityOf(row) };
      if (question?.action !== 'env:create') return undefined;
      return wouldCreate(name, question, {
        base: this.deps.settings.base,
        defaultTtl: this.deps.settings.defaultTtl,
        now: this.nowSeconds(),
        teamOf: (ref) => this.primaryTeam(ref),
        owned: (ref) => this.ownedCount(ref),
      });
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
    const rows = await this.deps.db
      .selectFrom('environments')
      .select(['name', 'tier'])
      .where('status', '<>', 'deleted')
      .execute();
    this.tiers.clear();
    for (const r of rows) this.tiers.set(r.name, r.tier);
  }

  // ---------------------------------------------------------------- API operations

  async create(ctx: RequestContext, req: CreateEnvironmentRequest): Promise<Environment> {
    const name = assertEnvName(req.name, 'name');
    const base = this.deps.settings.base;
    if (Object.hasOwn(base, name)) {
      throw new IdpError('ENV_NAME_RESERVED', `"${name}" is a base environment`, { field: 'name', name });
    }
    const from = typeof req.from === 'string' ? req.from : '';
    const source = Object.hasOwn(base, from) ? base[from]! : undefined;
    const principal = ctx.principal;
    const who = { ref: principal.ref, team: this.primaryTeam(principal.ref) };
    if (!source || (!source.database && !source.redisPrefix)) {
      throw sourceInvalid(from, base, cloneableBases(this.deps.gate, base, who, this.nowSeconds()));
    }
    const ttlText = req.ttl ?? this.deps.settings.defaultTtl;
    const ttlSeconds = parseDuration(ttlText, 'ttl');
    await assertInfra(this.deps.infra, from, source);

    const ownerEmail = principal.email ?? shortRef(principal.ref);
    const team = who.team;
    const resource = cloneEntity(name, from, source, who);
    const context = { now: this.nowSeconds(), ttlSeconds, ownedEnvironments: await this.ownedCount(principal.ref) };
    const decision = await this.enforce(ctx, 'env:create', resource, context, { from });

    const names = deriveNames(name, ownerEmail);
    const id = this.deps.ids.next('env');
    const now = this.deps.clock.now();
    const row: EnvRow = {
      id,
      name,
      kind: 'ephemeral',
      source_env: from,
      owner_ref: principal.ref,
      owner_email: ownerEmail,
      team,
      tier: source.tier,
      status: 'provisioning',
      ttl_seconds: ttlSeconds,
      created_at: now.toISOString(),
      ready_at: null,
      expires_at: new Date(now.getTime() + ttlSeconds * 1000).toISOString(),
      deleted_at: null,
      notified_at: null,
      namespace: names.namespace,
      database_name: source.database ? names.database : null,
      redis_prefix: source.redisPrefix ? names.redisPrefix : null,
      redis_user: source.redisPrefix ? await this.credentials.redisUser(names.redisUser) : null,
      snapshot: null,
      secrets_note: `copied from ${from} vault`,
      credentials: this.credentials.seal(id, newCredentials()),
      error_step: null,
      error_message: null,
    };
    try {
      await this.deps.db.transaction().execute(async (trx) => {
        await trx.insertInto('environments').values(row).execute();
        await trx.insertInto('environment_steps').values(this.workflow.pendingCreateSteps(id)).execute();
        await this.deps.audit.append(
          {
            actor: principal.ref,
            action: 'env:create',
            target: `environment:${name}`,
            decision: 'allow',
            policyIds: decision.permittedBy,
            requestId: ctx.requestId,
            details: { from, ttl: formatDuration(ttlSeconds), namespace: names.namespace },
          },
          trx,
        );
      });
    } catch (err) {
      if (!(err instanceof IdpError) && isUniqueViolation(err)) {
        throw new IdpError('ENV_EXISTS', `environment ${name} already exists`, { name, field: 'name' });
      }
      throw err;
    }
    this.tiers.set(name, source.tier);
    this.workflow.schedule(id, 'create');
    return this.view(row, await this.store.stepsOf(id));
  }

  async list(ctx: RequestContext, q: EnvironmentListQuery): Promise<Environment[]> {
    let query = this.deps.db.selectFrom('environments').selectAll().orderBy('created_at', 'desc').limit(500);
    if (q.includeDeleted !== 'true') query = query.where('status', '<>', 'deleted');
    if ((q.scope ?? 'mine') === 'mine') query = query.where('owner_ref', '=', ctx.principal.ref);
    const rows = await query.execute();
    const visible = rows.filter(
      (r) =>
        this.deps.gate.decide(ctx.principal.ref, {
          action: 'env:read',
          resource: this.entityOf(r),
          context: { now: this.nowSeconds() },
        }).decision === 'allow',
    );
    const steps = await this.store.stepsFor(visible.map((r) => r.id));
    return visible.map((r) => this.view(r, steps.get(r.id) ?? []));
  }

  async get(ctx: RequestContext, name: string): Promise<Environment> {
    const row = await this.store.latest(assertEnvName(name, 'name'));
    if (!row) throw notFound(name);
    await this.enforce(ctx, 'env:read', this.entityOf(row), { now: this.nowSeconds() });
    return this.view(row, await this.store.stepsOf(row.id));
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
      await trx
        .updateTable('environments')
        .set({ expires_at: expiresAt, ttl_seconds: ttlSeconds, notified_at: null })
        .where('id', '=', row.id)
        .execute();
      await this.deps.audit.append(
        {
          actor: ctx.principal.ref,
          action: 'env:extend',
          target: `environment:${row.name}`,
          decision: 'allow',
          policyIds: decision.permittedBy,
          requestId: ctx.requestId,
          details: { ttl: formatDuration(ttlSeconds), previousExpiresAt: row.expires_at, expiresAt },
        },
        trx,
      );
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
    const variables = await this.credentials.variablesOf(row);
    await this.deps.audit.append({
      actor: ctx.principal.ref,
      action: 'env:connect',
      target: `environment:${row.name}`,
      decision: 'allow',
      policyIds: decision.permittedBy,
      requestId: ctx.requestId,
      details: { variables: Object.keys(variables) },
    });
    return { env: row.name, variables };
  }

  /**
   * The variables a workload in this environment gets (DATABASE_URL, REDIS_URL,
   * REDIS_KEY_PREFIX), for the deployments capability: no policy here, the deploy was decided.
   */
  async runtimeVariables(
    name: string,
  ): Promise<{ namespace: string; tier: string; variables: Record<string, string> }> {
    const row = await this.live(assertEnvName(name, 'env'));
    if (!row) throw notFound(name);
    if (row.status !== 'ready') throw notReady(row, 'deployed to');
    return { namespace: row.namespace, tier: row.tier, variables: await this.credentials.variablesOf(row) };
  }

  /** Base environments' workload role and ACL user (credentials.ts); run at start-up. */
  ensureBaseAccess(): Promise<string[]> {
    return this.credentials.ensureBaseAccess();
  }

  // ---------------------------------------------------------------- lifecycle (workflow.ts)

  /** Resumes what a previous process left provisioning or deleting. */
  resume(): Promise<number> {
    return this.workflow.resume();
  }

  /** Waits for every running job (tests, shutdown). */
  idle(): Promise<void> {
    return this.workflow.idle();
  }

  stop(): Promise<void> {
    return this.workflow.stop();
  }

  /** Marks an environment for deletion and runs the delete steps (after any provisioning job stops). */
  startDelete(
    row: EnvRow,
    actor: string,
    requestId: string,
    extra: { policyIds?: string[]; reason?: string } = {},
  ): Promise<void> {
    return this.workflow.startDelete(row, actor, requestId, extra);
  }

  // ---------------------------------------------------------------- helpers

  namespaceDir(namespace: string): string {
    return join(this.deps.settings.dataDir, 'namespaces', namespace);
  }

  /** How many live environments of their own a user has (env:create's quota). */
  private async ownedCount(ref: string): Promise<number> {
    const owned = await this.deps.db
      .selectFrom('environments')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('owner_ref', '=', ref)
      .where('kind', '=', 'ephemeral')
      .where('status', '<>', 'deleted')
      .executeTakeFirst();
    return Number(owned?.n ?? 0);
  }

  private async enforce(
    ctx: RequestContext,
    action: string,
    resource: CedarEntity,
    context: Record<string, unknown>,
    checkInputs?: Record<string, unknown>,
  ): Promise<Decision> {
    const decision = this.deps.gate.decide(ctx.principal.ref, { action, resource, context });
    if (decision.decision === 'allow') return decision;
    // Name the limit when it alone is the problem: the same request without it would pass.
    const without = (field: string) => {
      const rest = { ...context };
      delete rest[field];
      return this.deps.gate.decide(ctx.principal.ref, { action, resource, context: rest }).decision === 'allow';
    };
    const req = { action, resource, context, ...(checkInputs ? { checkInputs } : {}) };
    if (context.ttlSeconds !== undefined && without('ttlSeconds')) {
      return this.deps.gate.refuse(
        ctx,
        req,
        decision,
        new IdpError(
          'ENV_TTL_TOO_LONG',
          `ttl ${formatDuration(context.ttlSeconds as number)} is longer than the policies allow (${decision.forbiddenBy.join(', ')})`,
          {
            field: 'ttl',
            forbiddenBy: decision.forbiddenBy,
            hint: 'Ask for a shorter --ttl (the default policy allows 14d at most); extend it later with `idp env:extend`.',
          },
        ),
      );
    }
    if (context.ownedEnvironments !== undefined && without('ownedEnvironments')) {
      const yours = await this.deps.db
        .selectFrom('environments')
        .select('name')
        .where('owner_ref', '=', ctx.principal.ref)
        .where('kind', '=', 'ephemeral')
        .where('status', '<>', 'deleted')
        .orderBy('created_at', 'asc')
        .execute();
      return this.deps.gate.refuse(
        ctx,
        req,
        decision,
        new IdpError(
          'ENV_QUOTA_EXCEEDED',
          `you already own ${context.ownedEnvironments} environments, the most the policies allow (${decision.forbiddenBy.join(', ')})`,
          {
            owned: context.ownedEnvironments,
            forbiddenBy: decision.forbiddenBy,
            yours: yours.map((r) => r.name),
          },
        ),
      );
    }
    return this.deps.gate.enforce(ctx, req);
  }

  private assertNotBase(row: EnvRow, verb: string): void {
    if (row.kind === 'base') {
      throw new IdpError(
        'ENV_BASE_PROTECTED',
        `${row.name} is a base environment: it is not ${verb} through env commands`,
        { name: row.name },
      );
    }
  }

  private primaryTeam(userRef: string): string | null {
    const direct = this.deps.directory.users.get(userRef)?.memberOf ?? [];
    const first = [...direct].sort()[0];
    return first ? shortRef(first) : (this.deps.directory.teamsOf(userRef)[0] ?? null);
  }

  private nowSeconds(): number {
    return Math.floor(this.deps.clock.now().getTime() / 1000);
  }

  entityOf(row: EnvRow): CedarEntity {
    return environmentEntity(row);
  }

  live(name: string): Promise<EnvRow | undefined> {
    return this.store.live(name);
  }

  byId(id: string): Promise<EnvRow | undefined> {
    return this.store.byId(id);
  }

  view(row: EnvRow, steps: StepRow[]): Environment {
    return environmentView(row, steps, this.deps.infra);
  }
}

function notFound(name: string): IdpError {
  return new IdpError('ENV_NOT_FOUND', `no environment named ${String(name).slice(0, 80)}`, { name });
}

function notReady(row: EnvRow, verb: string): IdpError {
  return new IdpError(
    'ENV_NOT_READY',
    `environment ${row.name} is ${row.status}${row.error_step ? ` (step ${row.error_step} failed: ${row.error_message})` : ''}, so it cannot be ${verb}`,
    {
      name: row.name,
      status: row.status,
    },
  );
}
