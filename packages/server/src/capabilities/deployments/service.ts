import type { Kysely } from 'kysely';
import {
  IdpError,
  type CreateDeploymentRequest,
  type Deployment,
  type RollbackRequest,
  type UndeployRequest,
  type UndeployResult,
} from '@idp/contracts';
import { rolloutPlanFromSpec, startRollout } from '@idp/core';
import type { EdgeProxy, ProcessSupervisor } from '@idp/runtime-local';
import type { AuditLog } from '../../audit/index.ts';
import type { RequestContext } from '../../auth/context.ts';
import type { Clock, IdSource } from '../../clock.ts';
import type { PolicyGate } from '../../policy/gate.ts';
import type { Database } from '../../store/index.ts';
import type { EnvironmentService } from '../environments/service.ts';
import type { SecretsService } from '../secrets/service.ts';
import type { RuntimeIsolation } from '../runtime/index.ts';
import type { DeployAuthorizer } from './authz.ts';
import type { Releases } from './releases.ts';
import { teamOf, type ServiceOwners } from './owners.ts';
import { RolloutRunner } from './runner.ts';
import type { RolloutTicks } from './rollout-parts.ts';
import { undeployService } from './undeploy.ts';
import { ACTIVE, toDeployment, type DeployRow } from './view.ts';
import { assertNoRolloutRunning } from './in-progress.ts';

/** deployments:list reads this many rows per query, and at most LIST_SCAN_LIMIT, to find the ones the caller may read. */
const LIST_PAGE = 200;
const LIST_SCAN_LIMIT = 5000;

export interface FreezeWindow {
  from: string;
  to: string;
  environments?: string[];
  reason?: string;
}

export interface DeploymentDeps {
  db: Kysely<Database>;
  audit: AuditLog;
  gate: PolicyGate;
  clock: Clock;
  ids: IdSource;
  releases: Releases;
  environments: EnvironmentService;
  secrets: SecretsService;
  owners: ServiceOwners;
  /** Who may deploy what where, and read it (deployments/authz.ts). */
  authz: DeployAuthorizer;
  proxy: EdgeProxy;
  supervisor: ProcessSupervisor;
  freezes: FreezeWindow[];
  dataDir: string;
  /** Where replicas run: their namespace's user in a sandbox, or refused when none can start. */
  isolation: RuntimeIsolation;
  log: (line: string) => void;
  /** Told of each rollout loop's observations (the reconciler lag metric). */
  ticks?: RolloutTicks;
  /** Variables the platform gives every replica of a release besides IDP_* (the OTLP exporter's endpoint and token). */
  workloadEnv?: (release: { namespace: string; service: string; version: string }) => Record<string, string>;
}

/**
 * Deployments on the local runtime, as the API sees them: create (and rollback, a create of a
 * known-good version), read, list, promote and abort, each authorized and audited. The release
 * runs as processes in the environment's namespace, the edge proxy splits traffic between the
 * stable release and the canary, and the rollout runner (runner.ts) drives each rollout.
 */
export class DeploymentService {
  private readonly runner: RolloutRunner;

  constructor(private readonly deps: DeploymentDeps) {
    this.runner = new RolloutRunner(deps);
    deps.environments.addNamespaceHook({ onDelete: (ns) => this.runner.stopNamespace(ns) });
  }

  get proxyPort(): number {
    return this.deps.proxy.port ?? 0;
  }

  urlOf(service: string, namespace: string): string {
    return `http://${service}.${namespace}.localhost:${this.proxyPort}`;
  }

  async create(
    ctx: RequestContext,
    req: CreateDeploymentRequest,
    opts: { skipSteps?: boolean; action?: string } = {},
  ): Promise<Deployment> {
    const { service, env, version } = req;
    this.deps.isolation.assertUsable(`deploy ${service}`);
    const envRow = await this.deps.authz.environment(env);
    const { spec } = await this.deps.releases.get(service, version);
    const runtime = await this.deps.environments.runtimeVariables(env);
    const team = await teamOf(this.deps.owners, service);
    const action = opts.action ?? 'deploy:create';
    const now = this.deps.clock.now();
    const frozen = this.deps.freezes.some(
      (f) =>
        (!f.environments || f.environments.includes(env)) &&
        Date.parse(f.from) <= now.getTime() &&
        now.getTime() < Date.parse(f.to),
    );
    // The service (its team, freezes, production's canary rule) and the environment (its owner,
    // its team, base environments the service's team, production behind a grant) must both allow.
    const decisions = await this.deps.authz.authorize(ctx, {
      action,
      service,
      team,
      env: envRow,
      serviceContext: {
        envTier: runtime.tier,
        strategy: spec.deploy.strategy,
        rollbackAuto: spec.deploy.rollback.auto,
        frozen,
      },
    });
    const policyIds = [
      ...new Set([...decisions.service.permittedBy, ...(decisions.environment?.permittedBy ?? [])]),
    ].sort();
    // The replicas get the service's secrets in this environment: a secret read by the deployer.
    const secretKeys = (
      await this.deps.db
        .selectFrom('secrets')
        .select('key')
        .where('env', '=', env)
        .where('service', '=', service)
        .where('deleted_at', 'is', null)
        .orderBy('key')
        .execute()
    ).map((r) => r.key);
    const current = await this.deps.db
      .selectFrom('service_runtime')
      .selectAll()
      .where('env', '=', env)
      .where('service', '=', service)
      .executeTakeFirst();
    const id = this.deps.ids.next('dep');
    const state = startRollout(rolloutPlanFromSpec(spec), {
      now: now.getTime(),
      firstDeploy: !current,
      skipSteps: opts.skipSteps,
    });
    const row: DeployRow = {
      id,
      service,
      env,
      namespace: runtime.namespace,
      version,
      previous_version: current?.version ?? null,
      kind: action === 'deploy:rollback' ? 'rollback' : 'deploy',
      strategy: spec.deploy.strategy,
      status: 'pending',
      reason: null,
      state: JSON.stringify(state),
      promotes: 0,
      abort_requested: 0,
      processes: null,
      created_at: now.toISOString(),
      created_by: ctx.principal.ref,
      finished_at: null,
    };
    let noop: DeployRow | undefined;
    await this.deps.db.transaction().execute(async (trx) => {
      await assertNoRolloutRunning(trx, env, service, action === 'deploy:rollback' ? 'roll back' : 'deploy again');
      // The version already serving (a re-run CI job): authorized and audited like a deploy, but a
      // no-op answering the deployment that made it current, so the job stays green.
      if (action === 'deploy:create' && current?.version === version) {
        const serving = await trx
          .selectFrom('deployments')
          .selectAll()
          .where('env', '=', env)
          .where('service', '=', service)
          .where('version', '=', version)
          .where('status', '=', 'healthy')
          .orderBy('created_at', 'desc')
          .orderBy('id', 'desc')
          .executeTakeFirst();
        if (serving) {
          await this.deps.audit.append(
            {
              actor: ctx.principal.ref,
              action,
              target: `service:${service}`,
              decision: 'allow',
              policyIds,
              requestId: ctx.requestId,
              details: { id: serving.id, env, version, unchanged: true },
            },
            trx,
          );
          noop = serving;
          return;
        }
      }
      await trx.insertInto('deployments').values(row).execute();
      await this.deps.audit.append(
        {
          actor: ctx.principal.ref,
          action,
          target: `service:${service}`,
          decision: 'allow',
          policyIds,
          requestId: ctx.requestId,
          details: {
            id,
            env,
            version,
            previousVersion: current?.version ?? null,
            strategy: spec.deploy.strategy,
            variables: Object.keys(runtime.variables).sort(),
          },
        },
        trx,
      );
      if (secretKeys.length) {
        await this.deps.audit.append(
          {
            actor: ctx.principal.ref,
            action: 'secret:read',
            target: `secret:${env}/${service}/*`,
            decision: 'allow',
            policyIds: decisions.environment?.permittedBy ?? [],
            requestId: ctx.requestId,
            details: { via: 'deploy', deployment: id, version, keys: secretKeys },
          },
          trx,
        );
      }
    });
    if (noop) return this.view(noop);
    this.runner.schedule(id);
    return this.view(row);
  }

  async rollback(ctx: RequestContext, req: RollbackRequest): Promise<Deployment> {
    // Authorized before the history is read (create decides again, with the release's figures).
    await this.deps.authz.authorize(ctx, {
      action: 'deploy:rollback',
      service: req.service,
      team: await teamOf(this.deps.owners, req.service),
      env: await this.deps.authz.environment(req.env),
    });
    const current = await this.deps.db
      .selectFrom('service_runtime')
      .selectAll()
      .where('env', '=', req.env)
      .where('service', '=', req.service)
      .executeTakeFirst();
    const healthy = await this.deps.db
      .selectFrom('deployments')
      .select(['version'])
      .where('env', '=', req.env)
      .where('service', '=', req.service)
      .where('status', '=', 'healthy')
      .orderBy('created_at', 'desc')
      .execute();
    const target = req.to ?? healthy.map((h) => h.version).find((v) => v !== current?.version);
    if (!target || !healthy.some((h) => h.version === target)) {
      throw new IdpError(
        'ROLLBACK_TARGET_INVALID',
        req.to
          ? `${req.to} never ran healthy as ${req.service} in ${req.env}`
          : `${req.service} has no earlier healthy version in ${req.env}`,
        { field: 'to', service: req.service, env: req.env },
      );
    }
    // A known-good version goes straight to 100% once healthy: no canary steps to walk again.
    return this.create(
      ctx,
      { service: req.service, env: req.env, version: target },
      { skipSteps: true, action: 'deploy:rollback' },
    );
  }

  /** Stops a deployed service in an environment (undeploy.ts); not deployed there: `stopped: false`. */
  undeploy(ctx: RequestContext, req: UndeployRequest): Promise<UndeployResult> {
    return undeployService(this.deps, this.runner, ctx, req);
  }

  /** One deployment, for those who may read it (deploy:read: the service's team, the environment's owner, admins). */
  async get(ctx: RequestContext, id: string): Promise<Deployment> {
    const row = await this.deps.db.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new IdpError('DEPLOYMENT_NOT_FOUND', `no deployment ${id}`, { id });
    await this.deps.authz.enforceRead(ctx, row);
    return this.view(row);
  }

  /** Newest first, only those the caller may read (scanned a page at a time until `limit` are found). */
  async list(ctx: RequestContext, q: { service?: string; env?: string; limit?: number }): Promise<Deployment[]> {
    const limit = q.limit ?? 20;
    const readable = await this.deps.authz.readable(ctx.principal.ref);
    const out: Deployment[] = [];
    for (let offset = 0; out.length < limit && offset < LIST_SCAN_LIMIT; offset += LIST_PAGE) {
      let query = this.deps.db
        .selectFrom('deployments')
        .selectAll()
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(LIST_PAGE)
        .offset(offset);
      if (q.service) query = query.where('service', '=', q.service);
      if (q.env) query = query.where('env', '=', q.env);
      const rows = await query.execute();
      for (const r of rows) if (out.length < limit && (await readable(r))) out.push(this.view(r));
      if (rows.length < LIST_PAGE) break;
    }
    return out;
  }

  async command(ctx: RequestContext, id: string, what: 'promote' | 'abort'): Promise<Deployment> {
    const row = await this.deps.db.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new IdpError('DEPLOYMENT_NOT_FOUND', `no deployment ${id}`, { id });
    const decisions = await this.deps.authz.authorize(ctx, {
      action: `deploy:${what}`,
      service: row.service,
      team: await teamOf(this.deps.owners, row.service),
      env: await this.deps.authz.environment(row.env),
    });
    const policyIds = [
      ...new Set([...decisions.service.permittedBy, ...(decisions.environment?.permittedBy ?? [])]),
    ].sort();
    if (!ACTIVE.includes(row.status))
      throw new IdpError('DEPLOY_NOT_ACTIVE', `deployment ${id} already ended: ${row.status}`, {
        id,
        status: row.status,
      });
    await this.deps.db.transaction().execute(async (trx) => {
      if (what === 'promote')
        await trx
          .updateTable('deployments')
          .set({ promotes: Number(row.promotes) + 1 })
          .where('id', '=', id)
          .execute();
      else await trx.updateTable('deployments').set({ abort_requested: 1 }).where('id', '=', id).execute();
      await this.deps.audit.append(
        {
          actor: ctx.principal.ref,
          action: `deploy:${what}`,
          target: `service:${row.service}`,
          decision: 'allow',
          policyIds,
          requestId: ctx.requestId,
          details: { id, env: row.env, version: row.version },
        },
        trx,
      );
    });
    return this.view(
      (await this.deps.db.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst())!,
    );
  }

  /** A replica (re)started with a new pid: its processes are recorded again (runner.ts). */
  async recordProcesses(release: string): Promise<void> {
    await this.runner.recordProcesses(release);
  }

  /** After a restart: stable releases serve again, rollouts in flight are aborted (runner.ts). */
  async restore(): Promise<void> {
    await this.runner.restore();
  }

  async stop(): Promise<void> {
    await this.runner.stop();
  }

  view(row: DeployRow): Deployment {
    return toDeployment(row, this.urlOf(row.service, row.namespace));
  }
}
