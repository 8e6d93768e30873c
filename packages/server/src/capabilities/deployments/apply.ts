// Carrying out one of core's rollout actions on the processes, the proxy and the slot's stable release.
import type { DeploySpec, RolloutAction } from '@idp/core';
import type { ReleaseProcesses } from '@idp/runtime-local';
import { unlessStopped, type RunnerParts } from './rollout-parts.ts';
import { startRelease } from './start-release.ts';
import { releaseKey, type DeployRow } from './view.ts';

/** What applyAction() acts on: the deployment, its slot, and the canary's processes (null once stopped). */
export interface ApplyContext {
  row: DeployRow;
  slot: string;
  canaryKey: string;
  canary: ReleaseProcesses | null;
  spec: DeploySpec;
}

/**
 * Carries out one of core's actions; returns the canary's processes afterwards. Every action
 * type has its case: a new one in core is a compile error here until it is handled.
 */
export async function applyAction(
  parts: RunnerParts,
  action: RolloutAction,
  c: ApplyContext,
): Promise<ReleaseProcesses | null> {
  const { deps, stables } = parts;
  const { row, slot, canaryKey, canary } = c;
  const stable = stables.get(slot);
  switch (action.type) {
    case 'setWeight': {
      if (!canary) return canary;
      const canaryBackend = { release: canaryKey, targets: canary.targets() };
      if (!stable) {
        if (action.weight > 0) deps.proxy.setRoute(row.service, row.namespace, { stable: canaryBackend });
      } else {
        deps.proxy.setRoute(row.service, row.namespace, {
          stable: { release: stable.key, targets: stable.procs.targets() },
          ...(action.weight > 0 ? { canary: { ...canaryBackend, weight: action.weight } } : {}),
        });
      }
      return canary;
    }
    case 'promote': {
      if (!canary) return canary;
      deps.proxy.setRoute(row.service, row.namespace, {
        stable: { release: canaryKey, targets: canary.targets() },
      });
      stables.set(slot, { version: row.version, key: canaryKey, procs: canary });
      const now = deps.clock.now().toISOString();
      await deps.db
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
      if (stable && stable.procs !== canary) await deps.supervisor.stop(stable.procs.release);
      return canary;
    }
    case 'stopCanary': {
      if (!canary || stables.get(slot)?.procs === canary) return canary;
      if (stable)
        deps.proxy.setRoute(row.service, row.namespace, {
          stable: { release: stable.key, targets: stable.procs.targets() },
        });
      else deps.proxy.removeRoute(row.service, row.namespace);
      await deps.supervisor.stop(canary.release);
      return null;
    }
    case 'scaleStable': {
      if (action.replicas === 0 && stable && c.spec.deploy.strategy === 'recreate') {
        deps.proxy.removeRoute(row.service, row.namespace);
        await deps.supervisor.stop(stable.procs.release);
        stables.delete(slot);
      } else if (action.replicas > 0 && !stable) {
        // A failed recreate: the release that served before starts again and takes the traffic back.
        const rt = await deps.db
          .selectFrom('service_runtime')
          .selectAll()
          .where('env', '=', row.env)
          .where('service', '=', row.service)
          .executeTakeFirst();
        if (rt && rt.version !== row.version) {
          const procs = await startRelease(deps, rt.service, rt.env, rt.namespace, rt.version);
          await unlessStopped(parts, procs.waitReady(60_000)).catch(() => {});
          const key = releaseKey(rt.namespace, rt.service, rt.version);
          stables.set(slot, { version: rt.version, key, procs });
          deps.proxy.setRoute(row.service, row.namespace, {
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
      // The failure is recorded by finishDeployment() once the phase is terminal, in the same
      // tick: the deployment's status, reason and figures, and the audit entry.
      return canary;
    default:
      return unhandled(action);
  }
}

/** A rollout action this runner does not know: a compile error while the switch is exhaustive. */
function unhandled(action: never): never {
  throw new Error(`the rollout runner cannot apply the action ${JSON.stringify(action)}`);
}
