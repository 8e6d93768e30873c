import { describe, expect, it } from 'vitest';
import type { DeploymentStatus } from '@idp/contracts';
import { reconcileRollout, startRollout, type ReplicaHealth, type RolloutPlan, type RolloutState } from '@idp/core';
import { toDeployment, type DeployRow, type LiveFigures } from './view.ts';

const T0 = Date.UTC(2026, 0, 1, 12, 0, 0);
const URL = 'http://payments-api.staging.localhost:8080';

const plan = (overrides: Partial<RolloutPlan> = {}): RolloutPlan => ({
  strategy: 'canary',
  steps: [
    { weight: 10, pauseSeconds: 300 },
    { weight: 50, pauseSeconds: null },
    { weight: 100, pauseSeconds: null },
  ],
  replicas: 2,
  healthcheck: { intervalSeconds: 10, threshold: 3 },
  rollback: { auto: true, maxErrorRate: 0.01, minRequests: 20 },
  ...overrides,
});

const healthy: ReplicaHealth[] = [
  { healthy: true, consecutiveFailures: 0 },
  { healthy: true, consecutiveFailures: 0 },
];

/** Drives core's state machine the way the runner does, one observation per call. */
function drive(
  state: RolloutState,
  ...ticks: { at: number; requests?: number; errors?: number; health?: ReplicaHealth[]; promotes?: number }[]
): RolloutState {
  for (const t of ticks) {
    state = reconcileRollout(state, {
      now: T0 + t.at * 1000,
      health: t.health ?? healthy,
      requests: t.requests ?? 0,
      errors: t.errors ?? 0,
      promoteRequests: t.promotes ?? 0,
    }).state;
  }
  return state;
}

function row(state: RolloutState & { live?: LiveFigures }, status: DeploymentStatus = state.phase): DeployRow {
  return {
    id: 'dep_1',
    service: 'payments-api',
    env: 'staging',
    namespace: 'staging',
    version: 'abc123-d1',
    previous_version: 'old-d0',
    kind: 'deploy',
    strategy: state.plan.strategy,
    status,
    reason: state.reason,
    state: JSON.stringify(state),
    promotes: 0,
    abort_requested: 0,
    processes: null,
    created_at: new Date(T0).toISOString(),
    created_by: 'user:default/alice',
    finished_at: null,
  };
}

describe('the deployment view', () => {
  it('shows the current step with the live figures the runner saved, and the later steps empty', () => {
    const state = drive(startRollout(plan(), { now: T0, firstDeploy: false }), { at: 1 }, { at: 2 });
    expect(state.stepIndex).toBe(0);
    const view = toDeployment(row({ ...state, live: { requests: 40, errors: 1, healthFailures: 2 } }), URL);
    expect(view).toMatchObject({
      id: 'dep_1',
      status: 'progressing',
      step: 0,
      weight: 10,
      url: URL,
      previousVersion: 'old-d0',
      figures: null,
      finishedAt: null,
    });
    expect(view.steps).toHaveLength(3);
    expect(view.steps[0]).toEqual({
      index: 0,
      weight: 10,
      pauseSeconds: 300,
      outcome: null,
      startedAt: new Date(T0 + 2000).toISOString(),
      endedAt: null,
      requests: 40,
      errors: 1,
      errorRate: 0.025,
      healthFailures: 2,
    });
    expect(view.steps[1]).toEqual({
      index: 1,
      weight: 50,
      pauseSeconds: null,
      outcome: null,
      startedAt: null,
      endedAt: null,
      requests: 0,
      errors: 0,
      errorRate: null,
      healthFailures: 0,
    });
  });

  it('shows a finished step from its record, not from the live figures', () => {
    const state = drive(
      startRollout(plan(), { now: T0, firstDeploy: false }),
      { at: 1 },
      { at: 2 },
      { at: 302, requests: 200, errors: 1 },
    );
    expect(state.stepIndex).toBe(1);
    const view = toDeployment(row({ ...state, live: { requests: 7, errors: 0, healthFailures: 0 } }), URL);
    expect(view.status).toBe('paused');
    expect(view.steps[0]).toMatchObject({
      outcome: 'passed',
      requests: 200,
      errors: 1,
      errorRate: 0.005,
      startedAt: new Date(T0 + 2000).toISOString(),
      endedAt: new Date(T0 + 302_000).toISOString(),
    });
    expect(view.steps[1]).toMatchObject({
      outcome: null,
      requests: 7,
      errorRate: 0,
      startedAt: new Date(T0 + 302_000).toISOString(),
    });
  });

  it('ignores live figures once the deployment has ended', () => {
    const state = drive(startRollout(plan(), { now: T0, firstDeploy: false }), { at: 1 }, { at: 2 });
    const view = toDeployment(row({ ...state, live: { requests: 40, errors: 1, healthFailures: 0 } }, 'aborted'), URL);
    expect(view.steps[0]).toMatchObject({ requests: 0, errors: 0, errorRate: null, healthFailures: 0 });
  });

  it('marks the steps of a first deploy as skipped once healthy, and has no current step', () => {
    const state = drive(startRollout(plan(), { now: T0, firstDeploy: true }), { at: 1 }, { at: 2 });
    expect(state.phase).toBe('healthy');
    const view = toDeployment(row(state), URL);
    expect(view.step).toBeNull();
    expect(view.weight).toBe(100);
    expect(view.steps.map((s) => s.outcome)).toEqual(['skipped', 'skipped', 'skipped']);
    // Not while it is still starting: nothing was skipped yet.
    const starting = drive(startRollout(plan(), { now: T0, firstDeploy: true }), { at: 1, health: [] });
    expect(toDeployment(row(starting), URL).steps.map((s) => s.outcome)).toEqual([null, null, null]);
  });

  it('shows rolling and recreate as one step at full weight', () => {
    const state = drive(
      startRollout(plan({ strategy: 'recreate', steps: [] }), { now: T0, firstDeploy: false }),
      { at: 1 },
      { at: 2 },
    );
    const view = toDeployment(row(state), URL);
    expect(view.status).toBe('healthy');
    expect(view.steps).toEqual([
      {
        index: 0,
        weight: 100,
        pauseSeconds: null,
        outcome: null,
        startedAt: null,
        endedAt: null,
        requests: 0,
        errors: 0,
        errorRate: null,
        healthFailures: 0,
      },
    ]);
  });

  it('carries the failure figures of a rolled-back canary', () => {
    const state = drive(
      startRollout(plan(), { now: T0, firstDeploy: false }),
      { at: 1 },
      { at: 2 },
      { at: 30, requests: 100, errors: 20 },
    );
    expect(state.phase).toBe('rolled_back');
    const view = toDeployment(row(state), URL);
    expect(view.figures).toMatchObject({ check: 'error_rate', step: 1, requests: 100, errors: 20, limit: 0.01 });
    expect(view.steps[0]).toMatchObject({ outcome: 'failed', requests: 100, errors: 20, errorRate: 0.2 });
  });
});
