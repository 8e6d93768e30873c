// idp_reconciler_lag_seconds: how late the rollout runner's loops are.
import type { RolloutTicks } from '../deployments/index.ts';

/** The rollout loop observes, then waits this long before the next tick (deployments/rollout.ts). */
export const ROLLOUT_TICK_MS = 200;

/**
 * The rollout runner tells it when each rollout loop observed (once a tick) and when the loop ended.
 * The lag is the oldest running loop's time since its last observation beyond the tick interval:
 * it grows while a loop is stuck (a slow store, an action that hangs), which a "how late was the
 * last tick" figure only shows once the stuck tick is over. A loop counts from its first
 * observation, so a release that is still starting its replicas (bounded by its own timeout) is
 * not lag.
 */
export class ReconcilerLag implements RolloutTicks {
  private readonly last = new Map<string, number>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly tickMs = ROLLOUT_TICK_MS,
  ) {}

  observed(deploymentId: string): void {
    this.last.set(deploymentId, this.now());
  }

  ended(deploymentId: string): void {
    this.last.delete(deploymentId);
  }

  /** Seconds; 0 when no rollout runs or every one observed within its tick. */
  lagSeconds(): number {
    const now = this.now();
    let lag = 0;
    for (const at of this.last.values()) lag = Math.max(lag, now - at - this.tickMs);
    return lag / 1000;
  }
}
