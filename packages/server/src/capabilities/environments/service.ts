import { join } from 'node:path';
import type {
  CreateEnvironmentRequest,
  Environment,
  EnvironmentConnection,
  EnvironmentListQuery,
} from '@idp/contracts';
import type { CedarEntity } from '@idp/core';
import type { RequestContext } from '../../auth/context.ts';
import { connectEnvironment, runtimeVariables } from './connect.ts';
import { createEnvironment, type InternalCreateOptions } from './create.ts';
import { nowSeconds, ownedCount, primaryTeam } from './decide.ts';
import type { EnvironmentDeps, EnvironmentParts } from './deps.ts';
import { EnvironmentCredentials } from './credentials.ts';
import { deleteEnvironment, extendEnvironment } from './lifetime.ts';
import { getEnvironment, listEnvironments } from './listing.ts';
import { Snapshots } from './snapshots.ts';
import { wouldCreate } from './sources.ts';
import { workflowSteps } from './steps.ts';
import { EnvironmentStore } from './store.ts';
import type { EnvironmentInfra, EnvironmentSettings, EnvRow, NamespaceHook, StepRow } from './types.ts';
import { environmentEntity, environmentView } from './view.ts';
import { StepWorkflow } from './workflow.ts';

export type { BaseEnvironmentConfig, EnvironmentInfra, EnvironmentSettings, NamespaceHook } from './types.ts';
export type { EnvironmentDeps } from './deps.ts';
export type { InternalCreateOptions } from './create.ts';

/**
 * Self-service environments. A request is validated, decided by Cedar and recorded (with its
 * steps, pending) in one transaction; the steps (steps.ts) then run in the background
 * (workflow.ts), each recorded as it starts and ends. A restart resumes every environment that
 * was provisioning or deleting; each step is idempotent, so re-running a half-done one converges.
 *
 * The operations live beside it by concern: creating (create.ts), extending and deleting
 * (lifetime.ts), connecting (connect.ts), reading (listing.ts), the Cedar decision that names
 * the limit that refused (decide.ts) and the shared refusals (errors.ts).
 */
export class EnvironmentService {
  readonly snapshots: Snapshots | null;
  private readonly hooks: NamespaceHook[] = [];
  private readonly parts: EnvironmentParts;

  constructor(private readonly deps: EnvironmentDeps) {
    this.snapshots = deps.infra.postgres ? new Snapshots(deps.db, deps.infra.postgres, deps.clock, deps.log) : null;
    const store = new EnvironmentStore(deps.db);
    const credentials = new EnvironmentCredentials({
      db: deps.db,
      clock: deps.clock,
      cipher: deps.cipher,
      infra: deps.infra,
    });
    // Live environments' tiers, for the secret store (sync lookups).
    const tiers = new Map<string, string>();
    const workflow = new StepWorkflow({
      db: deps.db,
      audit: deps.audit,
      clock: deps.clock,
      store,
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
        credentials,
        namespaceDir: (ns) => this.namespaceDir(ns),
      }),
      onDeleted: (row) => tiers.delete(row.name),
    });
    this.parts = { deps, store, credentials, workflow, tiers };
    deps.gate.registerResolver('Environment', async (name, question) => {
      const row = await this.live(name);
      if (row) return { resource: this.entityOf(row) };
      if (question?.action !== 'env:create') return undefined;
      return wouldCreate(name, question, {
        base: this.deps.settings.base,
        defaultTtl: this.deps.settings.defaultTtl,
        now: nowSeconds(this.deps),
        teamOf: (ref) => primaryTeam(this.deps, ref),
        owned: (ref) => ownedCount(this.deps, ref),
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
    return this.parts.tiers.get(env);
  }

  async loadTiers(): Promise<void> {
    const rows = await this.deps.db
      .selectFrom('environments')
      .select(['name', 'tier'])
      .where('status', '<>', 'deleted')
      .execute();
    this.parts.tiers.clear();
    for (const r of rows) this.parts.tiers.set(r.name, r.tier);
  }

  // ---------------------------------------------------------------- API operations

  /** `internal`: what only the platform asks for (a pull request's preview), never an API request. */
  create(ctx: RequestContext, req: CreateEnvironmentRequest, internal?: InternalCreateOptions): Promise<Environment> {
    return createEnvironment(this.parts, ctx, req, internal);
  }

  list(ctx: RequestContext, q: EnvironmentListQuery): Promise<Environment[]> {
    return listEnvironments(this.parts, ctx, q);
  }

  get(ctx: RequestContext, name: string): Promise<Environment> {
    return getEnvironment(this.parts, ctx, name);
  }

  extend(ctx: RequestContext, name: string, ttlText: string): Promise<Environment> {
    return extendEnvironment(this.parts, ctx, name, ttlText);
  }

  delete(ctx: RequestContext, name: string): Promise<Environment> {
    return deleteEnvironment(this.parts, ctx, name);
  }

  connect(ctx: RequestContext, name: string): Promise<EnvironmentConnection> {
    return connectEnvironment(this.parts, ctx, name);
  }

  /**
   * The variables a workload in this environment gets (DATABASE_URL, REDIS_URL,
   * REDIS_KEY_PREFIX), for the deployments capability: no policy here, the deploy was decided.
   */
  runtimeVariables(name: string): Promise<{ namespace: string; tier: string; variables: Record<string, string> }> {
    return runtimeVariables(this.parts, name);
  }

  /** Base environments' workload role and ACL user (credentials.ts); run at start-up. */
  ensureBaseAccess(): Promise<string[]> {
    return this.parts.credentials.ensureBaseAccess();
  }

  // ---------------------------------------------------------------- lifecycle (workflow.ts)

  /** Resumes what a previous process left provisioning or deleting. */
  resume(): Promise<number> {
    return this.parts.workflow.resume();
  }

  /** Waits for every running job (tests, shutdown). */
  idle(): Promise<void> {
    return this.parts.workflow.idle();
  }

  stop(): Promise<void> {
    return this.parts.workflow.stop();
  }

  /** Marks an environment for deletion and runs the delete steps (after any provisioning job stops). */
  startDelete(
    row: EnvRow,
    actor: string,
    requestId: string,
    extra: { policyIds?: string[]; reason?: string } = {},
  ): Promise<void> {
    return this.parts.workflow.startDelete(row, actor, requestId, extra);
  }

  // ---------------------------------------------------------------- helpers

  namespaceDir(namespace: string): string {
    return join(this.deps.settings.dataDir, 'namespaces', namespace);
  }

  entityOf(row: EnvRow): CedarEntity {
    return environmentEntity(row);
  }

  live(name: string): Promise<EnvRow | undefined> {
    return this.parts.store.live(name);
  }

  byId(id: string): Promise<EnvRow | undefined> {
    return this.parts.store.byId(id);
  }

  view(row: EnvRow, steps: StepRow[]): Environment {
    return environmentView(row, steps, this.deps.infra);
  }
}
