import { describe, expect, it } from 'vitest';
import type { Deployment } from '@idp/contracts';
import { reconcileRollout, startRollout, type RolloutPlan, type RolloutState } from '@idp/core';
import { formatDeployment, formatFigures, formatOutcome, formatProgress, formatStepEnd } from './deploy-format.ts';

// People count steps and replicas from 1: the live lines, the reason, the step table and the
// failure figures must all say the same number for the same step or replica.

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const plan: RolloutPlan = {
  strategy: 'canary',
  steps: [
    { weight: 10, pauseSeconds: 300 },
    { weight: 50, pauseSeconds: 600 },
    { weight: 100, pauseSeconds: null },
  ],
  replicas: 3,
  healthcheck: { intervalSeconds: 10, threshold: 3 },
  rollback: { auto: true, maxErrorRate: 0.01, minRequests: 20 },
};
const healthy = { healthy: true, consecutiveFailures: 0 };

/** A canary whose second replica fails its health checks during step 1. */
function failedOnSecondReplica(): RolloutState {
  let state = startRollout(plan, { now: T0, firstDeploy: false });
  const tick = (at: number, health = [healthy, healthy, healthy]) =>
    (state = reconcileRollout(state, { now: T0 + at, health, requests: 5, errors: 0 }).state);
  tick(0);
  tick(1000);
  tick(2000, [healthy, { healthy: false, consecutiveFailures: 3 }, healthy]);
  return state;
}

function asDeployment(state: RolloutState): Deployment {
  return {
    id: 'dep_1',
    service: 'payments-api',
    env: 'staging',
    namespace: 'staging',
    version: 'v2',
    previousVersion: 'v1',
    kind: 'deploy',
    strategy: 'canary',
    status: 'rolled_back',
    reason: state.reason,
    step: null,
    weight: 0,
    createdAt: '2025-01-01T12:00:00.000Z',
    createdBy: 'alice@company.com',
    finishedAt: '2025-01-01T12:00:02.000Z',
    url: 'http://payments-api.staging.localhost:7080',
    steps: plan.steps.map((s, index) => {
      const rec = state.steps.find((r) => r.index === index);
      return {
        index,
        weight: s.weight,
        pauseSeconds: s.pauseSeconds,
        outcome: rec?.outcome ?? null,
        startedAt: rec ? new Date(rec.startedAt).toISOString() : null,
        endedAt: rec ? new Date(rec.endedAt).toISOString() : null,
        requests: rec?.requests ?? 0,
        errors: rec?.errors ?? 0,
        errorRate: rec?.errorRate ?? null,
        healthFailures: rec?.healthFailures ?? 0,
      };
    }),
    figures: state.failure as unknown as Record<string, unknown>,
  };
}

describe('1-based numbering in what the CLI shows', () => {
  it('the failure figures name the same step and replica as the reason and the step lines', () => {
    const state = failedOnSecondReplica();
    expect(state.phase).toBe('rolled_back');
    expect(state.reason).toBe('health check failed 3 times in a row on new replica 2 (threshold 3)');
    const deployment = asDeployment(state);
    const figures = formatFigures(deployment.figures!);
    expect(figures).toContain('step=1');
    expect(figures).toContain('replica=2');
    expect(figures).not.toMatch(/step=0|replica=0/);
    expect(formatStepEnd(deployment, deployment.steps[0]!)).toMatch(/^✗ step 1\/3 failed/);
    expect(formatDeployment(deployment)).toMatch(/\n1\/3\s+10%\s+5m\s+failed/);
    expect(formatOutcome(deployment)).toContain('on new replica 2');
  });

  it('the live line counts the current step from 1', () => {
    const deployment: Deployment = {
      ...asDeployment(startRollout(plan, { now: T0, firstDeploy: false })),
      status: 'progressing',
      step: 1,
      weight: 50,
      figures: null,
    };
    expect(formatProgress(deployment)).toMatch(/^step 2\/3 {2}weight 50% for 10m/);
  });
});
