import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { IdpError, type DeploymentStatus } from '@idp/contracts';
import {
  isTerminalPhase,
  reconcileRollout,
  type DeploySpec,
  type ReplicaHealth,
  type RolloutAction,
  type RolloutState,
} from '@idp/core';
import {
  diffSnapshots,
  HealthChecker,
  killRecorded,
  type EdgeProxy,
  type MetricsSnapshot,
  type ProcessSupervisor,
  type RecordedReplica,
  type ReleaseProcesses,
} from '@idp/runtime-local';
import type { AuditLog } from '../../audit/index.ts';
import type { Clock } from '../../clock.ts';
import type { Database } from '../../store/index.ts';
import type { EnvironmentService } from '../environments/service.ts';
import type { SecretsService } from '../secrets/service.ts';
import type { RuntimeIsolation } from '../runtime/index.ts';
import type { Releases } from './releases.ts';
import { ACTIVE, releaseKey, type DeployRow, type LiveFigures } from './view.ts';

const TICK_MS = 200;

/** What the runner needs: a subset of the service's deps (DeploymentDeps satisfies it). */
export interface RolloutRunnerDeps {
  db: Kysely<Database>;
  audit: AuditLog;
  clock: Clock;
  releases: Releases;
  environments: EnvironmentService;
  secrets: SecretsService;
  proxy: EdgeProxy;
  supervisor: ProcessSupervisor;
  isolation: RuntimeIsolation;
  log: (line: string) => void;
}

/** The release serving a service in an environment (the slot `env/service`). */
interface Stable {
  version: string;
  key: string;
  procs: ReleaseProcesses;
}

/** What apply() acts on: the deployment, its slot, and the canary's processes (null once stopped). */
interface ApplyContext {
  row: DeployRow;
  slot: string;
  canaryKey: string;
  canary: ReleaseProcesses | null;
  spec: DeploySpec;
}

/**
 * The rollout runner on the local runtime: one loop per deployment applies core's rollout state
 * machine (reconcileRollout) every tick with what it observes (health checks of every canary
 * replica, the canary's requests and 5xx through the proxy since its step began) and carries
 * out its actions on the processes and the proxy. It keeps the stable release of every slot,
 * saves the state after every tick, and brings the stable releases back after a restart.
 */
export class RolloutRunner {
  private readonly stables = new Map<string, Stable>();
  private readonly runners = new Map<string, Promise<void>>();
  private stopped = false;

  constructor(private readonly deps: RolloutRunnerDeps) {}

  /** Starts the rollout of a saved deployment; a runner that throws fails the deployment. */
  schedule(id: string): void {
    if (this.stopped) return;
    const runner = this.runRollout(id)
      .catch(async (err: Error) => {
        this.deps.log(`deployments: rollout ${id} stopped: ${err.message}`);
        const row = await this.deps.db.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst();
        if (row && ACTIVE.includes(row.status))
          await this.finish(
            row,
            'failed',
            err instanceof IdpError ? `${err.code}: ${err.message}` : err.message,
            null,
            JSON.parse(row.state) as RolloutState,
          );
      })
      .finally(() => this.runners.delete(id));
    this.runners.set(id, runner);
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
      await this.deps.db
        .updateTable('service_runtime')
        .set({ processes: recorded })
        .where('env', '=', env)
        .where('service', '=', service)
        .execute();
    }
    const [namespace, rest] = [release.slice(0, release.indexOf('/')), release.slice(release.indexOf('/') + 1)];
    const [service, version] = rest.split('@') as [string, string];
    await this.deps.db
      .updateTable('deployments')
      .set({ processes: recorded })
      .where('namespace', '=', namespace)
      .where('service', '=', service)
      .where('version', '=', version)
      .where('status', 'in', ACTIVE)
      .execute();
  }

  /**
   * After a restart: every stable release starts again and gets its route back; a rollout that
   * was in flight is aborted safely (its canary processes, if any survived, are killed; the
   * stable release keeps serving). Processes of the previous control plane are killed first.
   */
  async restore(): Promise<void> {
    const active = await this.deps.db.selectFrom('deployments').selectAll().where('status', 'in', ACTIVE).execute();
    for (const row of active) {
      await killRecorded(JSON.parse(row.processes ?? '[]') as RecordedReplica[]).catch(() => {});
      await this.finish(
        row,
        'aborted',
        'the control plane restarted during the rollout: the canary was stopped and the stable release kept',
        null,
        JSON.parse(row.state) as RolloutState,
      );
    }
    for (const rt of await this.deps.db.selectFrom('service_runtime').selectAll().execute()) {
      await killRecorded(JSON.parse(rt.processes ?? '[]') as RecordedReplica[]).catch(() => {});
      try {
        const procs = await this.startRelease(rt.service, rt.env, rt.namespace, rt.version);
        await procs.waitReady(30_000).catch(() => {});
        const key = releaseKey(rt.namespace, rt.service, rt.version);
        this.stables.set(`${rt.env}/${rt.service}`, { version: rt.version, key, procs });
        this.deps.proxy.setRoute(rt.service, rt.namespace, { stable: { release: key, targets: procs.targets() } });
        await this.deps.db
          .updateTable('service_runtime')
          .set({ processes: JSON.stringify(procs.recorded()) })
          .where('env', '=', rt.env)
          .where('service', '=', rt.service)
          .execute();
        this.deps.log(`deployments: ${rt.service} ${rt.version} serving again in ${rt.env}`);
      } catch (err) {
        this.deps.log(
          `deployments: could not restart ${rt.service} ${rt.version} in ${rt.env}: ${(err as Error).message}`,
        );
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.allSettled([...this.runners.values()]);
    await this.deps.supervisor.stopAll();
    await this.deps.proxy.close();
  }

  /**
   * `idp undeploy`: the service stops serving in the environment (its route goes, so the proxy
   * answers PROXY_NO_ROUTE) and its processes stop; returns how many replicas ran. Its rows stay.
   */
  async stopService(env: string, service: string): Promise<number> {
    const slot = `${env}/${service}`;
    const stable = this.stables.get(slot);
    if (!stable) return 0;
    this.stables.delete(slot);
    const [namespace] = stable.key.split('/') as [string];
    this.deps.proxy.removeRoute(service, namespace);
    const replicas = stable.procs.replicas().length;
    await this.deps.supervisor.stop(stable.procs.release);
    this.deps.proxy.forgetRelease(stable.key);
    return replicas;
  }

  /** An environment is deleted: its services stop serving and their processes stop. */
  async stopNamespace(namespace: string): Promise<void> {
    for (const [k, st] of [...this.stables]) {
      if (st.key.startsWith(`${namespace}/`)) {
        this.stables.delete(k);
        const [env, service] = k.split('/') as [string, string];
        this.deps.proxy.removeRoute(service, namespace);
        await this.deps.supervisor.stop(st.procs.release);
        await this.deps.db
          .deleteFrom('service_runtime')
          .where('env', '=', env)
          .where('service', '=', service)
          .execute();
      }
    }
    for (const procs of this.deps.supervisor.list()) {
      if (procs.release.startsWith(`${namespace}/`)) await this.deps.supervisor.stop(procs.release);
    }
  }

  private async startRelease(
    service: string,
    env: string,
    namespace: string,
    version: string,
  ): Promise<ReleaseProcesses> {
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
    await this.deps.db
      .updateTable('deployments')
      .set({ processes: JSON.stringify(canary.recorded()) })
      .where('id', '=', id)
      .execute();
    // Health checks start once the replicas listen; a process that keeps exiting is a crash
    // loop, which fails the rollout at once instead of waiting for health-check thresholds.
    await canary.waitReady(60_000).catch((err: Error & { code?: string }) => {
      if (err.code === 'CRASH_LOOP') crashLoop = true;
    });
    await this.deps.db
      .updateTable('deployments')
      .set({ processes: JSON.stringify(canary.recorded()) })
      .where('id', '=', id)
      .execute();

    const health = new Map<string, ReplicaHealth>();
    const checker = new HealthChecker({
      targets: canary.targets(),
      path: spec.deploy.healthcheck.path,
      intervalMs: spec.deploy.healthcheck.intervalSeconds * 1000,
      immediate: true,
      onResults: (results) => {
        for (const r of results)
          health.set(`${r.target.host}:${r.target.port}`, {
            healthy: r.ok,
            consecutiveFailures: r.consecutiveFailures,
          });
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
        const live: LiveFigures = {
          requests: window.requests,
          errors: window.errors,
          healthFailures: Math.max(0, ...replicaHealth.map((h) => h.consecutiveFailures)),
        };
        await this.deps.db
          .updateTable('deployments')
          .set({ state: JSON.stringify({ ...state, live }), status: state.phase, reason: decision.reason })
          .where('id', '=', id)
          .execute();
        await new Promise((r) => setTimeout(r, TICK_MS));
      }
    } finally {
      clearInterval(watch);
      checker.stop();
      // Whatever did not become stable does not keep running.
      if (canary && this.stables.get(slot)?.procs !== canary)
        await this.deps.supervisor.stop(canary.release).catch(() => {});
    }
  }

  /**
   * Carries out one of core's actions; returns the canary's processes afterwards. Every action
   * type has its case: a new one in core is a compile error here until it is handled.
   */
  private async apply(action: RolloutAction, c: ApplyContext): Promise<ReleaseProcesses | null> {
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
        this.deps.proxy.setRoute(row.service, row.namespace, {
          stable: { release: canaryKey, targets: canary.targets() },
        });
        this.stables.set(slot, { version: row.version, key: canaryKey, procs: canary });
        const now = this.deps.clock.now().toISOString();
        await this.deps.db
          .insertInto('service_runtime')
          .values({
            env: row.env,
            service: row.service,
            namespace: row.namespace,
            version: row.version,
            deployment_id: row.id,
            processes: JSON.stringify(canary.recorded()),
            updated_at: now,
          })
          .onConflict((oc) =>
            oc.columns(['env', 'service']).doUpdateSet({
              namespace: row.namespace,
              version: row.version,
              deployment_id: row.id,
              processes: JSON.stringify(canary.recorded()),
              updated_at: now,
            }),
          )
          .execute();
        if (stable && stable.procs !== canary) await this.deps.supervisor.stop(stable.procs.release);
        return canary;
      }
      case 'stopCanary': {
        if (!canary || this.stables.get(slot)?.procs === canary) return canary;
        if (stable)
          this.deps.proxy.setRoute(row.service, row.namespace, {
            stable: { release: stable.key, targets: stable.procs.targets() },
          });
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
          const rt = await this.deps.db
            .selectFrom('service_runtime')
            .selectAll()
            .where('env', '=', row.env)
            .where('service', '=', row.service)
            .executeTakeFirst();
          if (rt && rt.version !== row.version) {
            const procs = await this.startRelease(rt.service, rt.env, rt.namespace, rt.version);
            await procs.waitReady(60_000).catch(() => {});
            const key = releaseKey(rt.namespace, rt.service, rt.version);
            this.stables.set(slot, { version: rt.version, key, procs });
            this.deps.proxy.setRoute(row.service, row.namespace, {
              stable: { release: key, targets: procs.targets() },
            });
          }
        }
        // Rolling on the local runtime: the new replicas all start first and traffic moves one
        // replica's share at a time behind their health checks; the old ones stop at promotion.
        return canary;
      }
      case 'scaleCanary':
        // The local runtime starts every replica of the new release before the first tick
        // (runRollout), so there is nothing to scale: weights decide what each one serves.
        return canary;
      case 'fail':
        // The failure is recorded by finish() once the phase is terminal, in the same tick:
        // the deployment's status, reason and figures, and the audit entry.
        return canary;
      default:
        return unhandled(action);
    }
  }

  private async finish(
    row: DeployRow,
    status: DeploymentStatus,
    reason: string,
    figures: unknown,
    state: RolloutState,
  ): Promise<void> {
    const now = this.deps.clock.now().toISOString();
    await this.deps.db.transaction().execute(async (trx) => {
      await trx
        .updateTable('deployments')
        .set({
          status,
          reason,
          state: JSON.stringify({ ...state, failure: figures ?? state.failure }),
          finished_at: now,
        })
        .where('id', '=', row.id)
        .execute();
      await this.deps.audit.append(
        {
          actor: 'system:deployer',
          action: `deploy:${status}`,
          target: `service:${row.service}`,
          decision: status === 'healthy' ? 'allow' : 'error',
          requestId: row.id,
          details: { id: row.id, env: row.env, version: row.version, reason, ...(figures ? { figures } : {}) },
        },
        trx,
      );
    });
  }
}

/** A rollout action this runner does not know: a compile error while the switch is exhaustive. */
function unhandled(action: never): never {
  throw new Error(`the rollout runner cannot apply the action ${JSON.stringify(action)}`);
}
