// Ending a deployment: its final status, reason and figures saved, and audited, in one transaction.
import type { DeploymentStatus } from '@idp/contracts';
import type { RolloutState } from '@idp/core';
import type { RolloutRunnerDeps } from './rollout-parts.ts';
import type { DeployRow } from './view.ts';

export async function finishDeployment(
  deps: RolloutRunnerDeps,
  row: DeployRow,
  status: DeploymentStatus,
  reason: string,
  figures: unknown,
  state: RolloutState,
): Promise<void> {
  const now = deps.clock.now().toISOString();
  await deps.db.transaction().execute(async (trx) => {
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
    await deps.audit.append(
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
