import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { IdpError, type CreateDeploymentRequest, type Deployment, type RollbackRequest } from '@idp/contracts';
import {
  isTerminalPhase,
  reconcileRollout,
  rolloutPlanFromSpec,
  startRollout,
  type DeploySpec,
  type ReplicaHealth,
  type RolloutAction,
  type RolloutState,
} from '@idp/core';
import {
  diffSnapshots,
  EdgeProxy,
  HealthChecker,
  killRecorded,
  ProcessSupervisor,
  type MetricsSnapshot,
  type RecordedReplica,
  type ReleaseProcesses,
} from '@idp/runtime-local';
import type { AuditLog } from '../../audit/index.ts';
import type { RequestContext } from '../../auth/context.ts';
import type { Clock, IdSource } from '../../clock.ts';
import type { PolicyGate } from '../../policy/gate.ts';
import type { Database } from '../../store/index.ts';
import type { EnvironmentService } from '../environments/service.ts';
import type { SecretsService } from '../secrets/service.ts';
import type { RuntimeIsolation } from '../runtime/index.ts';
import type { DeployAuthorizer } from './authz.ts';
import { teamOf, type Releases, type ServiceOwners } from './releases.ts';

type DeployRow = Database['deployments'];
const ACTIVE = ['pending', 'progressing', 'paused'];
const TICK_MS = 200;
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
}

interface Stable {
  version: string;
  key: string;
  procs: ReleaseProcesses;
}

/**
 * Deployments on the local runtime: the release runs as processes in the environment's
 * namespace, the edge proxy splits traffic between the stable release and the canary, and a
 * runner applies core's rollout state machine (reconcileRollout) every tick with what it
 * observes: health checks of every canary replica and the canary's requests and 5xx through the
 * proxy since its step began. The state is saved after every tick.
 */
export class DeploymentService {
  private readonly stables = new Map<string, Stable>();
  private readonly runners = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(private readonly deps: DeploymentDeps) {
    deps.environments.addNamespaceHook({ onDelete: (ns) => this.stopNamespace(ns) });
  }

  get proxyPort(): number {
    return this.deps.proxy.port ?? 0;
  }

  urlOf(service: string, namespace: string): string {
    return `http://${service}.${namespace}.localhost:${this.proxyPort}`;
  }

  async create(ctx: RequestContext, req: CreateDeploymentRequest, opts: { skipSteps?: boolean; action?: string } = {}): Promise<Deployment> {
    const { service, env, version } = req;
    this.deps.isolation.assertUsable(`deploy ${service}`);
    const envRow = await this.deps.authz.environment(env);
    const { spec } = await this.deps.releases.get(service, version);
    const runtime = await this.deps.environments.runtimeVariables(env);
    const team = await teamOf(this.deps.owners, service);
    const action = opts.action ?? 'deploy:create';
    const now = this.deps.clock.now();
    const frozen = this.deps.freezes.some((f) => (!f.environments || f.environments.includes(env)) && Date.parse(f.from) <= now.getTime() && now.getTime() < Date.parse(f.to));
    // The service (its team, freezes, production's canary rule) and the environment (its owner,
    // its team, base environments the service's team, production behind a grant) must both allow.
    const decisions = await this.deps.authz.authorize(ctx, {
      action, service, team, env: envRow,
      serviceContext: { envTier: runtime.tier, strategy: spec.deploy.strategy, rollbackAuto: spec.deploy.rollback.auto, frozen },
    });
    const policyIds = [...new Set([...decisions.service.permittedBy, ...(decisions.environment?.permittedBy ?? [])])].sort();
    // The replicas get the service's secrets in this environment: a secret read by the deployer.
    const secretKeys = (await this.deps.db.selectFrom('secrets').select('key').where('env', '=', env).where('service', '=', service).where('deleted_at', 'is', null).orderBy('key').execute()).map((r) => r.key);
    const current = await this.deps.db.selectFrom('service_runtime').selectAll().where('env', '=', env).where('service', '=', service).executeTakeFirst();
    const id = this.deps.ids.next('dep');
    const state = startRollout(rolloutPlanFromSpec(spec), { now: now.getTime(), firstDeploy: !current, skipSteps: opts.skipSteps });
    const row: DeployRow = {
      id, service, env, namespace: runtime.namespace, version, previous_version: current?.version ?? null, strategy: spec.deploy.strategy,
      status: 'pending', reason: null, state: JSON.stringify(state), promotes: 0, abort_requested: 0, processes: null,
      created_at: now.toISOString(), created_by: ctx.principal.ref, finished_at: null,
    };
    await this.deps.db.transaction().execute(async (trx) => {
      const active = await trx.selectFrom('deployments').select('id').where('env', '=', env).where('service', '=', service).where('status', 'in', ACTIVE).executeTakeFirst();
      if (active) throw new IdpError('DEPLOY_IN_PROGRESS', `deployment ${active.id} of ${service} in ${env} is still running`, { id: active.id });
      await trx.insertInto('deployments').values(row).execute();
      await this.deps.audit.append({
        actor: ctx.principal.ref, action, target: `service:${service}`, decision: 'allow', policyIds, requestId: ctx.requestId,
        details: { id, env, version, previousVersion: current?.version ?? null, strategy: spec.deploy.strategy, variables: Object.keys(runtime.variables).sort() },
      }, trx);
      if (secretKeys.length) {
        await this.deps.audit.append({
          actor: ctx.principal.ref, action: 'secret:read', target: `secret:${env}/${service}/*`, decision: 'allow', policyIds: decisions.environment?.permittedBy ?? [], requestId: ctx.requestId,
          details: { via: 'deploy', deployment: id, version, keys: secretKeys },
        }, trx);
      }
    });
    this.schedule(id);
    return this.view(row);
  }

  async rollback(ctx: RequestContext, req: RollbackRequest): Promise<Deployment> {
    // Authorized before the history is read (create decides again, with the release's figures).
    await this.deps.authz.authorize(ctx, { action: 'deploy:rollback', service: req.service, team: await teamOf(this.deps.owners, req.service), env: await this.deps.authz.environment(req.env) });
    const current = await this.deps.db.selectFrom('service_runtime').selectAll().where('env', '=', req.env).where('service', '=', req.service).executeTakeFirst();
    const healthy = await this.deps.db.selectFrom('deployments').select(['version']).where('env', '=', req.env).where('service', '=', req.service)
      .where('status', '=', 'healthy').orderBy('created_at', 'desc').execute();
    const target = req.to ?? healthy.map((h) => h.version).find((v) => v !== current?.version);
    if (!target || !healthy.some((h) => h.version === target)) {
      throw new IdpError('ROLLBACK_TARGET_INVALID', req.to ? `${req.to} never ran healthy as ${req.service} in ${req.env}` : `${req.service} has no earlier healthy version in ${req.env}`, { field: 'to' });
    }
    // A known-good version goes straight to 100% once healthy: no canary steps to walk again.
    return this.create(ctx, { service: req.service, env: req.env, version: target }, { skipSteps: true, action: 'deploy:rollback' });
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
      let query = this.deps.db.selectFrom('deployments').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(LIST_PAGE).offset(offset);
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
      action: `deploy:${what}`, service: row.service, team: await teamOf(this.deps.owners, row.service), env: await this.deps.authz.environment(row.env),
    });
    const policyIds = [...new Set([...decisions.service.permittedBy, ...(decisions.environment?.permittedBy ?? [])])].sort();
    if (!ACTIVE.includes(row.status)) throw new IdpError('DEPLOY_NOT_ACTIVE', `deployment ${id} already ended: ${row.status}`, { id, status: row.status });
    await this.deps.db.transaction().execute(async (trx) => {
      if (what === 'promote') await trx.updateTable('deployments').set({ promotes: Number(row.promotes) + 1 }).where('id', '=', id).execute();
      else await trx.updateTable('deployments').set({ abort_requested: 1 }).where('id', '=', id).execute();
      await this.deps.audit.append({ actor: ctx.principal.ref, action: `deploy:${what}`, target: `service:${row.service}`, decision: 'allow', policyIds, requestId: ctx.requestId, details: { id, env: row.env, version: row.version } }, trx);
    });
    return this.view((await this.deps.db.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst())!);
  }

  /**
   * A replica (re)started with a new pid: record the release's processes again, so that after a
   * crash of the control plane the next start can find and kill every one of them.
   */
  async recordProcesses(release: string): Promise<void> {
    const procs = this.deps.supervisor.get(release);
    if (!procs) return;
    const recorded = JSON.stringify(procs.recorded());
    for (const [slot, st] of this.stables) {
      if (st.procs !== procs) continue;
      const [env, service] = slot.split('/') as [string, string];
      await this.deps.db.updateTable('service_runtime').set({ processes: recorded }).where('env', '=', env).where('service', '=', service).execute();
    }
    const [namespace, rest] = [release.slice(0, release.indexOf('/')), release.slice(release.indexOf('/') + 1)];
    const [service, version] = rest.split('@') as [string, string];
    await this.deps.db.updateTable('deployments').set({ processes: recorded })
      .where('namespace', '=', namespace).where('service', '=', service).where('version', '=', version).where('status', 'in', ACTIVE).execute();
  }

  // ------------------------------------------------------------------ runtime

  /**
   * After a restart: every stable release starts again and gets its route back; a rollout that
   * was in flight is aborted safely (its canary processes, if any survived, are killed; the
   * stable release keeps serving). Processes of the previous control plane are killed first.
   */
  async restore(): Promise<void> {
    const active = await this.deps.db.selectFrom('deployments').selectAll().where('status', 'in', ACTIVE).execute();
    for (const row of active) {
      await killRecorded(JSON.parse(row.processes ?? '[]') as RecordedReplica[]).catch(() => {});
      await this.finish(row, 'aborted', 'the control plane restarted during the rollout: the canary was stopped and the stable release kept', null, JSON.parse(row.state) as RolloutState);
    }
    for (const rt of await this.deps.db.selectFrom('service_runtime').selectAll().execute()) {
      await killRecorded(JSON.parse(rt.processes ?? '[]') as RecordedReplica[]).catch(() => {});
      try {
        const procs = await this.startRelease(rt.service, rt.env, rt.namespace, rt.version);
        await procs.waitReady(30_000).catch(() => {});
        const key = releaseKey(rt.namespace, rt.service, rt.version);
        this.stables.set(`${rt.env}/${rt.service}`, { version: rt.version, key, procs });
        this.deps.proxy.setRoute(rt.service, rt.namespace, { stable: { release: key, targets: procs.targets() } });
        await this.deps.db.updateTable('service_runtime').set({ processes: JSON.stringify(procs.recorded()) }).where('env', '=', rt.env).where('service', '=', rt.service).execute();
        this.deps.log(`deployments: ${rt.service} ${rt.version} serving again in ${rt.env}`);
      } catch (err) {
        this.deps.log(`deployments: could not restart ${rt.service} ${rt.version} in ${rt.env}: ${(err as Error).message}`);
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.runners.values()]);
    await this.deps.supervisor.stopAll();
    await this.deps.proxy.close();
  }

  private async stopNamespace(namespace: string): Promise<void> {
    for (const [k, st] of [...this.stables]) {
      if (st.key.startsWith(`${namespace}/`)) {
        this.stables.delete(k);
        const [env, service] = k.split('/') as [string, string];
        this.deps.proxy.removeRoute(service, namespace);
        await this.deps.supervisor.stop(st.procs.release);
        await this.deps.db.deleteFrom('service_runtime').where('env', '=', env).where('service', '=', service).execute();
      }
    }
    for (const procs of this.deps.supervisor.list()) {
      if (procs.release.startsWith(`${namespace}/`)) await this.deps.supervisor.stop(procs.release);
    }
  }

  private schedule(id: string): void {
    if (this.stopped) return;
    const runner = this.runRollout(id)
      .catch(async (err: Error) => {
        this.deps.log(`deployments: rollout ${id} stopped: ${err.message}`);
        const row = await this.deps.db.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst();
        if (row && ACTIVE.includes(row.status)) await this.finish(row, 'failed', err instanceof IdpError ? `${err.code}: ${err.message}` : err.message, null, JSON.parse(row.state) as RolloutState);
      })
      .finally(() => this.runners.delete(id));
    this.runners.set(id, runner);
  }

  private async startRelease(service: string, env: string, namespace: string, version: string): Promise<ReleaseProcesses> {
    const { spec, dir } = await this.deps.releases.get(service, version);
    const { variables } = await this.deps.environments.runtimeVariables(env);
    const secrets = await this.deps.secrets.valuesFor(env, service);
    return this.deps.supervisor.start({
      release: releaseKey(namespace, service, version),
      command: spec.run.command,
      cwd: dir,
      env: { ...secrets, ...variables, IDP_SERVICE: service, IDP_ENV: env, IDP_RELEASE_VERSION: version },
      replicas: spec.run.replicas,
      logDir: join(this.deps.environments.namespaceDir(namespace), 'logs', service, version),
      sandbox: await this.deps.isolation.replica(namespace, service, dir),
    });
  }

  private async runRollout(id: string): Promise<void> {
    let row = (await this.deps.db.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst())!;
    const { spec } = await this.deps.releases.get(row.service, row.version);
    const canaryKey = releaseKey(row.namespace, row.service, row.version);
    const slot = `${row.env}/${row.service}`;
    let state = JSON.parse(row.state) as RolloutState;
    const previous = this.stables.get(slot);
    if (spec.deploy.strategy === 'recreate' && previous) {
      // recreate: the old release stops before the new one starts (a failure starts it again).
      this.deps.proxy.removeRoute(row.service, row.namespace);
      await this.deps.supervisor.stop(previous.procs.release);
      this.stables.delete(slot);
    }
    let canary: ReleaseProcesses | null = await this.startRelease(row.service, row.env, row.namespace, row.version);
    let crashLoop = false;
    const watch = setInterval(() => {
      if (canary?.replicas().some((r) => r.status === 'crash-loop')) crashLoop = true;
    }, 100);
    await this.deps.db.updateTable('deployments').set({ processes: JSON.stringify(canary.recorded()) }).where('id', '=', id).execute();
    // Health checks start once the replicas listen; a process that keeps exiting is a crash
    // loop, which fails the rollout at once instead of waiting for health-check thresholds.
    await canary.waitReady(60_000).catch((err: Error & { code?: string }) => {
      if (err.code === 'CRASH_LOOP') crashLoop = true;
    });
    await this.deps.db.updateTable('deployments').set({ processes: JSON.stringify(canary.recorded()) }).where('id', '=', id).execute();

    const health = new Map<string, ReplicaHealth>();
    const checker = new HealthChecker({
      targets: canary.targets(), path: spec.deploy.healthcheck.path, intervalMs: spec.deploy.healthcheck.intervalSeconds * 1000, immediate: true,
      onResults: (results) => {
        for (const r of results) health.set(`${r.target.host}:${r.target.port}`, { healthy: r.ok, consecutiveFailures: r.consecutiveFailures });
      },
    });
    checker.start();
    let baselineAt = -1;
    let baseline: MetricsSnapshot = this.deps.proxy.snapshot(canaryKey);
    try {
      for (;;) {
        if (this.stopped) return;
        row = (await this.deps.db.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst())!;
        if (state.stepStartedAt !== baselineAt) {
          baselineAt = state.stepStartedAt;
          baseline = this.deps.proxy.snapshot(canaryKey);
        }
        const window = diffSnapshots(baseline, this.deps.proxy.snapshot(canaryKey));
        const targets = canary ? canary.targets() : [];
        checker.setTargets(targets);
        // One entry per replica: one that is not listening (restarting) counts as not healthy.
        const replicaHealth = (canary?.replicas() ?? []).map((r) => {
          const t = targets.find((x) => x.port === r.port);
          return (t && health.get(`${t.host}:${t.port}`)) ?? { healthy: false, consecutiveFailures: 0 };
        });
        const decision = reconcileRollout(state, {
          now: this.deps.clock.now().getTime(),
          health: replicaHealth,
          requests: window.requests,
          errors: window.errors,
          crashLoop,
          promoteRequests: Number(row.promotes),
          abortRequested: Number(row.abort_requested) === 1,
        });
        state = decision.state;
        for (const action of decision.actions) {
          canary = await this.apply(action, { row, slot, canaryKey, canary, spec });
        }
        if (isTerminalPhase(state.phase)) {
          await this.finish(row, state.phase, state.reason ?? decision.reason, state.failure, state);
          return;
        }
        // The current step's figures so far, for `idp deploy`'s live view.
        const live = { requests: window.requests, errors: window.errors, healthFailures: Math.max(0, ...replicaHealth.map((h) => h.consecutiveFailures)) };
        await this.deps.db.updateTable('deployments').set({ state: JSON.stringify({ ...state, live }), status: state.phase, reason: decision.reason }).where('id', '=', id).execute();
        await new Promise((r) => setTimeout(r, TICK_MS));
      }
    } finally {
      clearInterval(watch);
      checker.stop();
      // Whatever did not become stable does not keep running.
      if (canary && this.stables.get(slot)?.procs !== canary) await this.deps.supervisor.stop(canary.release).catch(() => {});
    }
  }

  private async apply(action: RolloutAction, c: { row: DeployRow; slot: string; canaryKey: string; canary: ReleaseProcesses | null; spec: DeploySpec }): Promise<ReleaseProcesses | null> {
    const { row, slot, canaryKey, canary } = c;
    const stable = this.stables.get(slot);
    switch (action.type) {
      case 'setWeight': {
        if (!canary) return canary;
        const canaryBackend = { release: canaryKey, targets: canary.targets() };
        if (!stable) {
          if (action.weight > 0) this.deps.proxy.setRoute(row.service, row.namespace, { stable: canaryBackend });
        } else {
          this.deps.proxy.setRoute(row.service, row.namespace, {
            stable: { release: stable.key, targets: stable.procs.targets() },
            ...(action.weight > 0 ? { canary: { ...canaryBackend, weight: action.weight } } : {}),
          });
        }
        return canary;
      }
      case 'promote': {
        if (!canary) return canary;
        this.deps.proxy.setRoute(row.service, row.namespace, { stable: { release: canaryKey, targets: canary.targets() } });
        this.stables.set(slot, { version: row.version, key: canaryKey, procs: canary });
        const now = this.deps.clock.now().toISOString();
        await this.deps.db.insertInto('service_runtime')
          .values({ env: row.env, service: row.service, namespace: row.namespace, version: row.version, deployment_id: row.id, processes: JSON.stringify(canary.recorded()), updated_at: now })
          .onConflict((oc) => oc.columns(['env', 'service']).doUpdateSet({ namespace: row.namespace, version: row.version, deployment_id: row.id, processes: JSON.stringify(canary.recorded()), updated_at: now }))
          .execute();
        if (stable && stable.procs !== canary) await this.deps.supervisor.stop(stable.procs.release);
        return canary;
      }
      case 'stopCanary': {
        if (!canary || this.stables.get(slot)?.procs === canary) return canary;
        if (stable) this.deps.proxy.setRoute(row.service, row.namespace, { stable: { release: stable.key, targets: stable.procs.targets() } });
        else this.deps.proxy.removeRoute(row.service, row.namespace);
        await this.deps.supervisor.stop(canary.release);
        return null;
      }
      case 'scaleStable': {
        if (action.replicas === 0 && stable && c.spec.deploy.strategy === 'recreate') {
          this.deps.proxy.removeRoute(row.service, row.namespace);
          await this.deps.supervisor.stop(stable.procs.release);
          this.stables.delete(slot);
        } else if (action.replicas > 0 && !stable) {
          // A failed recreate: the release that served before starts again and takes the traffic back.
          const rt = await this.deps.db.selectFrom('service_runtime').selectAll().where('env', '=', row.env).where('service', '=', row.service).executeTakeFirst();
          if (rt && rt.version !== row.version) {
            const procs = await this.startRelease(rt.service, rt.env, rt.namespace, rt.version);
            await procs.waitReady(60_000).catch(() => {});
            const key = releaseKey(rt.namespace, rt.service, rt.version);
            this.stables.set(slot, { version: rt.version, key, procs });
            this.deps.proxy.setRoute(row.service, row.namespace, { stable: { release: key, targets: procs.targets() } });
          }
        }
        // Rolling on the local runtime: the new replicas all start first and traffic moves one
        // replica's share at a time behind their health checks; the old ones stop at promotion.
        return canary;
      }
      default:
        return canary;
    }
  }

  private async finish(row: DeployRow, status: string, reason: string, figures: unknown, state: RolloutState): Promise<void> {
    const now = this.deps.clock.now().toISOString();
    await this.deps.db.transaction().execute(async (trx) => {
      await trx.updateTable('deployments').set({ status, reason, state: JSON.stringify({ ...state, failure: figures ?? state.failure }), finished_at: now }).where('id', '=', row.id).execute();
      await this.deps.audit.append({
        actor: 'system:deployer', action: `deploy:${status}`, target: `service:${row.service}`, decision: status === 'healthy' ? 'allow' : 'error', requestId: row.id,
        details: { id: row.id, env: row.env, version: row.version, reason, ...(figures ? { figures } : {}) },
      }, trx);
    });
  }

  view(row: DeployRow): Deployment {
    const state = JSON.parse(row.state) as RolloutState & { live?: { requests: number; errors: number; healthFailures: number } };
    const steps = state.plan.steps.length ? state.plan.steps : [{ weight: 100, pauseSeconds: null }];
    return {
      id: row.id, service: row.service, env: row.env, namespace: row.namespace, version: row.version, previousVersion: row.previous_version,
      strategy: row.strategy, status: row.status as Deployment['status'], reason: row.reason,
      step: state.stepIndex >= 0 ? state.stepIndex : null, weight: state.weight,
      createdAt: row.created_at, createdBy: row.created_by, finishedAt: row.finished_at,
      url: this.urlOf(row.service, row.namespace),
      steps: steps.map((s, index) => {
        const rec = state.steps.find((r) => r.index === index);
        const live = !rec && index === state.stepIndex && ACTIVE.includes(row.status) ? state.live : undefined;
        // A first deploy (or a rollback to a known-good version) does not walk the steps.
        const skipped = !rec && (state.firstDeploy || state.skipSteps) && row.status === 'healthy' ? 'skipped' : null;
        return {
          index, weight: s.weight, pauseSeconds: s.pauseSeconds, outcome: rec?.outcome ?? skipped,
          startedAt: rec ? new Date(rec.startedAt).toISOString() : index === state.stepIndex ? new Date(state.stepStartedAt).toISOString() : null,
          endedAt: rec ? new Date(rec.endedAt).toISOString() : null,
          requests: rec?.requests ?? live?.requests ?? 0, errors: rec?.errors ?? live?.errors ?? 0,
          errorRate: rec ? rec.errorRate : live && live.requests > 0 ? live.errors / live.requests : null,
          healthFailures: rec?.healthFailures ?? live?.healthFailures ?? 0,
        };
      }),
      figures: (state.failure as unknown as Record<string, unknown> | null) ?? null,
    };
  }
}

function releaseKey(namespace: string, service: string, version: string): string {
  return `${namespace}/${service}@${version}`;
}
