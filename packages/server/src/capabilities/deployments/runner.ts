import { IdpError } from '@idp/contracts';
import type { RolloutState } from '@idp/core';
import { finishDeployment } from './finish.ts';
import { recordProcesses, restoreReleases } from './restore.ts';
import { runRollout } from './rollout.ts';
import type { RolloutRunnerDeps, RunnerParts, Stable } from './rollout-parts.ts';
import { ACTIVE } from './view.ts';

export type { RolloutRunnerDeps } from './rollout-parts.ts';

/**
 * The rollout runner on the local runtime: one loop per deployment applies core's rollout state
 * machine (reconcileRollout) every tick with what it observes (health checks of every canary
 * replica, the canary's requests and 5xx through the proxy since its step began) and carries
 * out its actions on the processes and the proxy. It keeps the stable release of every slot,
 * saves the state after every tick, and brings the stable releases back after a restart.
 *
 * Its parts live beside it: the tick loop and its observations (rollout.ts), carrying out an
 * action (apply.ts), starting a release (start-release.ts), ending a deployment (finish.ts) and
 * the process records and restore after a restart (restore.ts).
 */
export class RolloutRunner {
  private readonly stables = new Map<string, Stable>();
  private readonly runners = new Map<string, Promise<void>>();
  private stopped = false;
  private readonly stopping = new AbortController();
  private readonly parts: RunnerParts;

  constructor(private readonly deps: RolloutRunnerDeps) {
    this.parts = { deps, stables: this.stables, stopped: () => this.stopped, stopping: this.stopping.signal };
  }

  /** Starts the rollout of a saved deployment; a runner that throws fails the deployment. */
  schedule(id: string): void {
    if (this.stopped) return;
    const runner = runRollout(this.parts, id)
      .catch(async (err: Error) => {
        this.deps.log(`deployments: rollout ${id} stopped: ${err.message}`);
        const row = await this.deps.db.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst();
        if (row && ACTIVE.includes(row.status))
          await finishDeployment(
            this.deps,
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
  recordProcesses(release: string): Promise<void> {
    return recordProcesses(this.parts, release);
  }

  /**
   * After a restart: every stable release starts again and gets its route back; a rollout that
   * was in flight is aborted safely (its canary processes, if any survived, are killed; the
   * stable release keeps serving). Processes of the previous control plane are killed first.
   */
  restore(): Promise<void> {
    return restoreReleases(this.parts);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    // Rollouts waiting for replicas to get ready stop waiting (they end without a verdict).
    this.stopping.abort();
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
}
