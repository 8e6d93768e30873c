// One deployment's rollout loop: starts the new release, observes health and traffic every tick, applies core's state machine.
import { isTerminalPhase, reconcileRollout, type ReplicaHealth, type RolloutState } from '@idp/core';
import { diffSnapshots, HealthChecker, type MetricsSnapshot, type ReleaseProcesses } from '@idp/runtime-local';
import { applyAction } from './apply.ts';
import { finishDeployment } from './finish.ts';
import { failingReplicaTail } from './log-tail.ts';
import { unlessStopped, type RunnerParts } from './rollout-parts.ts';
import { startRelease } from './start-release.ts';
import { releaseKey, type LiveFigures } from './view.ts';

const TICK_MS = 200;

export async function runRollout(parts: RunnerParts, id: string): Promise<void> {
  const { deps, stables } = parts;
  let row = (await deps.db.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst())!;
  const { spec } = await deps.releases.get(row.service, row.version);
  const canaryKey = releaseKey(row.namespace, row.service, row.version);
  const slot = `${row.env}/${row.service}`;
  let state = JSON.parse(row.state) as RolloutState;
  const previous = stables.get(slot);
  if (spec.deploy.strategy === 'recreate' && previous) {
    // recreate: the old release stops before the new one starts (a failure starts it again).
    deps.proxy.removeRoute(row.service, row.namespace);
    await deps.supervisor.stop(previous.procs.release);
    stables.delete(slot);
  }
  let canary: ReleaseProcesses | null = await startRelease(deps, row.service, row.env, row.namespace, row.version);
  let crashLoop = false;
  const watch = setInterval(() => {
    if (canary?.replicas().some((r) => r.status === 'crash-loop')) crashLoop = true;
  }, 100);
  await deps.db
    .updateTable('deployments')
    .set({ processes: JSON.stringify(canary.recorded()) })
    .where('id', '=', id)
    .execute();
  // Health checks start once the replicas listen; a process that keeps exiting is a crash
  // loop, which fails the rollout at once instead of waiting for health-check thresholds.
  const ready = await unlessStopped(parts, canary.waitReady(60_000)).catch((err: Error & { code?: string }) => {
    if (err.code === 'CRASH_LOOP') crashLoop = true;
  });
  if (ready === 'stopped') {
    // The control plane stops: the rollout is left as it is, to be resumed after the restart.
    clearInterval(watch);
    return;
  }
  await deps.db
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
  let baseline: MetricsSnapshot = deps.proxy.snapshot(canaryKey);
  try {
    for (;;) {
      if (parts.stopped()) return;
      row = (await deps.db.selectFrom('deployments').selectAll().where('id', '=', id).executeTakeFirst())!;
      if (state.stepStartedAt !== baselineAt) {
        baselineAt = state.stepStartedAt;
        baseline = deps.proxy.snapshot(canaryKey);
      }
      const window = diffSnapshots(baseline, deps.proxy.snapshot(canaryKey));
      const targets = canary ? canary.targets() : [];
      checker.setTargets(targets);
      // One entry per replica: one that is not listening (restarting) counts as not healthy.
      const replicaHealth = (canary?.replicas() ?? []).map((r) => {
        const t = targets.find((x) => x.port === r.port);
        return (t && health.get(`${t.host}:${t.port}`)) ?? { healthy: false, consecutiveFailures: 0 };
      });
      const decision = reconcileRollout(state, {
        now: deps.clock.now().getTime(),
        health: replicaHealth,
        requests: window.requests,
        errors: window.errors,
        crashLoop,
        promoteRequests: Number(row.promotes),
        abortRequested: Number(row.abort_requested) === 1,
      });
      deps.ticks?.observed(id);
      state = decision.state;
      // The files outlive the processes the actions below may stop.
      const procs = canary;
      for (const action of decision.actions) {
        canary = await applyAction(parts, action, { row, slot, canaryKey, canary, spec });
      }
      if (isTerminalPhase(state.phase)) {
        const logTail = state.phase !== 'healthy' && procs ? failingReplicaTail(procs, row.version) : null;
        const final = logTail ? { ...state, logTail } : state;
        await finishDeployment(deps, row, state.phase, state.reason ?? decision.reason, state.failure, final);
        return;
      }
      const live: LiveFigures = {
        requests: window.requests,
        errors: window.errors,
        healthFailures: Math.max(0, ...replicaHealth.map((h) => h.consecutiveFailures)),
      };
      await deps.db
        .updateTable('deployments')
        .set({ state: JSON.stringify({ ...state, live }), status: state.phase, reason: decision.reason })
        .where('id', '=', id)
        .execute();
      await new Promise((r) => setTimeout(r, TICK_MS));
    }
  } finally {
    deps.ticks?.ended(id);
    clearInterval(watch);
    checker.stop();
    // Whatever did not become stable does not keep running.
    if (canary && stables.get(slot)?.procs !== canary) await deps.supervisor.stop(canary.release).catch(() => {});
  }
}
