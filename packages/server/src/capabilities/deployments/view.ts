import type { Deployment, DeploymentLogTail, DeploymentStatus } from '@idp/contracts';
import type { RolloutState } from '@idp/core';
import type { Database } from '../../store/index.ts';

export type DeployRow = Database['deployments'];

/** The statuses of a rollout still running: at most one per service and environment. */
export const ACTIVE: readonly DeploymentStatus[] = ['pending', 'progressing', 'paused'];

/** The figures of the current step so far, saved with the state by the runner for `idp deploy`'s live view. */
export interface LiveFigures {
  requests: number;
  errors: number;
  healthFailures: number;
}

/** The release's processes as the supervisor and the edge proxy name them. */
export function releaseKey(namespace: string, service: string, version: string): string {
  return `${namespace}/${service}@${version}`;
}

/** A deployments row as the API shows it: one entry per canary step, recorded, live or skipped. */
export function toDeployment(row: DeployRow, url: string): Deployment {
  const state = JSON.parse(row.state) as RolloutState & { live?: LiveFigures; logTail?: DeploymentLogTail };
  const steps = state.plan.steps.length ? state.plan.steps : [{ weight: 100, pauseSeconds: null }];
  return {
    id: row.id,
    service: row.service,
    env: row.env,
    namespace: row.namespace,
    version: row.version,
    previousVersion: row.previous_version,
    kind: row.kind,
    strategy: row.strategy,
    status: row.status,
    reason: row.reason,
    step: state.stepIndex >= 0 ? state.stepIndex : null,
    weight: state.weight,
    createdAt: row.created_at,
    createdBy: row.created_by,
    finishedAt: row.finished_at,
    url,
    steps: steps.map((s, index) => {
      const rec = state.steps.find((r) => r.index === index);
      const live = !rec && index === state.stepIndex && ACTIVE.includes(row.status) ? state.live : undefined;
      // A first deploy (or a rollback to a known-good version) does not walk the steps.
      const skipped = !rec && (state.firstDeploy || state.skipSteps) && row.status === 'healthy' ? 'skipped' : null;
      return {
        index,
        weight: s.weight,
        pauseSeconds: s.pauseSeconds,
        outcome: rec?.outcome ?? skipped,
        startedAt: rec
          ? new Date(rec.startedAt).toISOString()
          : index === state.stepIndex
            ? new Date(state.stepStartedAt).toISOString()
            : null,
        endedAt: rec ? new Date(rec.endedAt).toISOString() : null,
        requests: rec?.requests ?? live?.requests ?? 0,
        errors: rec?.errors ?? live?.errors ?? 0,
        errorRate: rec ? rec.errorRate : live && live.requests > 0 ? live.errors / live.requests : null,
        healthFailures: rec?.healthFailures ?? live?.healthFailures ?? 0,
      };
    }),
    figures: (state.failure as unknown as Record<string, unknown> | null) ?? null,
    logTail: state.logTail ?? null,
  };
}
