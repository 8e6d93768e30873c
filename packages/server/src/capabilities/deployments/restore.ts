// Surviving a control-plane restart: recording each release's processes, and bringing the stable releases back after one.
import type { RolloutState } from '@idp/core';
import { killRecorded, type RecordedReplica } from '@idp/runtime-local';
import { finishDeployment } from './finish.ts';
import type { RunnerParts } from './rollout-parts.ts';
import { startRelease } from './start-release.ts';
import { ACTIVE, releaseKey } from './view.ts';

/**
 * A replica (re)started with a new pid: record the release's processes again, so that after a
 * crash of the control plane the next start can find and kill every one of them.
 */
export async function recordProcesses({ deps, stables }: RunnerParts, release: string): Promise<void> {
  const procs = deps.supervisor.get(release);
  if (!procs) return;
  const recorded = JSON.stringify(procs.recorded());
  for (const [slot, st] of stables) {
    if (st.procs !== procs) continue;
    const [env, service] = slot.split('/') as [string, string];
    await deps.db
      .updateTable('service_runtime')
      .set({ processes: recorded })
      .where('env', '=', env)
      .where('service', '=', service)
      .execute();
  }
  const [namespace, rest] = [release.slice(0, release.indexOf('/')), release.slice(release.indexOf('/') + 1)];
  const [service, version] = rest.split('@') as [string, string];
  await deps.db
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
export async function restoreReleases({ deps, stables }: RunnerParts): Promise<void> {
  const active = await deps.db.selectFrom('deployments').selectAll().where('status', 'in', ACTIVE).execute();
  for (const row of active) {
    await killRecorded(JSON.parse(row.processes ?? '[]') as RecordedReplica[]).catch(() => {});
    await finishDeployment(
      deps,
      row,
      'aborted',
      'the control plane restarted during the rollout: the canary was stopped and the stable release kept',
      null,
      JSON.parse(row.state) as RolloutState,
    );
  }
  for (const rt of await deps.db.selectFrom('service_runtime').selectAll().execute()) {
    await killRecorded(JSON.parse(rt.processes ?? '[]') as RecordedReplica[]).catch(() => {});
    try {
      const procs = await startRelease(deps, rt.service, rt.env, rt.namespace, rt.version);
      await procs.waitReady(30_000).catch(() => {});
      const key = releaseKey(rt.namespace, rt.service, rt.version);
      stables.set(`${rt.env}/${rt.service}`, { version: rt.version, key, procs });
      deps.proxy.setRoute(rt.service, rt.namespace, { stable: { release: key, targets: procs.targets() } });
      await deps.db
        .updateTable('service_runtime')
        .set({ processes: JSON.stringify(procs.recorded()) })
        .where('env', '=', rt.env)
        .where('service', '=', rt.service)
        .execute();
      deps.log(`deployments: ${rt.service} ${rt.version} serving again in ${rt.env}`);
    } catch (err) {
      deps.log(`deployments: could not restart ${rt.service} ${rt.version} in ${rt.env}: ${(err as Error).message}`);
    }
  }
}
