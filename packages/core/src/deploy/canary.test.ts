import { describe, expect, it } from 'vitest';
import {
  isTerminalPhase,
  parseDeploySpec,
  reconcileRollout,
  resumeActions,
  rolloutPlanFromSpec,
  startRollout,
  type ReplicaHealth,
  type RolloutDecision,
  type RolloutObservation,
  type RolloutPlan,
  type RolloutState,
} from './index.ts';

const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);
const SECOND = 1000;
const MINUTE = 60 * SECOND;

function canaryPlan(overrides: Partial<RolloutPlan> = {}): RolloutPlan {
  return {
    strategy: 'canary',
    steps: [
      { weight: 10, pauseSeconds: 300 },
      { weight: 50, pauseSeconds: 600 },
      { weight: 100, pauseSeconds: null },
    ],
    replicas: 2,
    healthcheck: { intervalSeconds: 10, threshold: 3 },
    rollback: { auto: true, maxErrorRate: 0.01, minRequests: 20 },
    ...overrides,
  };
}

const ok = (n: number): ReplicaHealth[] => Array.from({ length: n }, () => ({ healthy: true, consecutiveFailures: 0 }));
const starting = (n: number): ReplicaHealth[] =>
  Array.from({ length: n }, () => ({ healthy: false, consecutiveFailures: 0 }));

/**
 * Drives one rollout with a fake clock, as the runner would: each `tick` reconciles with what the
 * runner observes at that moment. Request counters reset whenever a step starts, like the proxy's.
 */
class Rollout {
  now = T0;
  state: RolloutState;
  promotes = 0;
  last!: RolloutDecision;

  constructor(plan: RolloutPlan, options: { firstDeploy?: boolean; skipSteps?: boolean } = {}) {
    this.state = startRollout(plan, {
      now: this.now,
      firstDeploy: options.firstDeploy ?? false,
      skipSteps: options.skipSteps ?? false,
    });
  }

  advance(ms: number): this {
    this.now += ms;
    return this;
  }

  tick(seen: Partial<Omit<RolloutObservation, 'now'>> = {}): RolloutDecision {
    const observation: RolloutObservation = {
      now: this.now,
      health: ok(this.state.canaryReplicas),
      requests: 0,
      errors: 0,
      promoteRequests: this.promotes,
      ...seen,
    };
    this.last = reconcileRollout(this.state, observation);
    this.state = this.last.state;
    return this.last;
  }
}

describe('first deploy', () => {
  it('starts every replica, waits for health, then goes straight to 100% and promotes', () => {
    const r = new Rollout(canaryPlan(), { firstDeploy: true });
    expect(r.state.phase).toBe('pending');

    expect(r.tick().actions).toEqual([{ type: 'scaleCanary', replicas: 2 }]);
    expect(r.state.phase).toBe('progressing');

    const waiting = r.advance(5 * SECOND).tick({
      health: [
        { healthy: true, consecutiveFailures: 0 },
        { healthy: false, consecutiveFailures: 1 },
      ],
    });
    expect(waiting.actions).toEqual([]);
    expect(waiting.reason).toBe('waiting for health checks: 1 of 2 new replicas healthy');

    const done = r.advance(10 * SECOND).tick({ health: ok(2) });
    expect(done.actions).toEqual([{ type: 'setWeight', weight: 100 }, { type: 'promote' }]);
    expect(done.state).toMatchObject({
      phase: 'healthy',
      weight: 100,
      steps: [],
      endedAt: T0 + 15 * SECOND,
      failure: null,
    });
    expect(isTerminalPhase(done.state.phase)).toBe(true);

    // Reconciling a finished rollout changes nothing.
    const again = r.advance(MINUTE).tick();
    expect(again.actions).toEqual([]);
    expect(again.state).toBe(done.state);
  });

  it('ends as failed (nothing to roll back to) when the first release never gets healthy', () => {
    const r = new Rollout(canaryPlan(), { firstDeploy: true });
    r.tick();
    const failed = r.advance(30 * SECOND).tick({
      health: [
        { healthy: false, consecutiveFailures: 3 },
        { healthy: true, consecutiveFailures: 0 },
      ],
    });
    expect(failed.state.phase).toBe('failed');
    expect(failed.actions.map((a) => a.type)).toEqual(['stopCanary', 'fail']);
    expect(failed.reason).toBe('failed: health check failed 3 times in a row on new replica 1 (threshold 3)');
  });
});

describe('canary steps', () => {
  it('walks the steps: weight, pause, next weight, and promotes on the final 100', () => {
    const r = new Rollout(canaryPlan());
    expect(r.tick().actions).toEqual([{ type: 'scaleCanary', replicas: 2 }]);
    expect(r.state.stableReplicas).toBe(2);

    // No traffic moves before every new replica passes a health check.
    expect(r.advance(2 * SECOND).tick({ health: starting(2) }).actions).toEqual([]);
    const step1 = r.advance(8 * SECOND).tick();
    expect(step1.actions).toEqual([{ type: 'setWeight', weight: 10 }]);
    expect(step1.state).toMatchObject({
      phase: 'progressing',
      stepIndex: 0,
      weight: 10,
      stepStartedAt: T0 + 10 * SECOND,
    });
    expect(step1.reason).toBe(
      'every new replica is healthy; step 1 of 3: 10% of traffic on the new release, pausing 5m',
    );

    const midway = r.advance(5 * MINUTE - SECOND).tick({ requests: 120, errors: 1 });
    expect(midway.actions).toEqual([]);
    expect(midway.reason).toBe('step 1 (10%): 1s of 5m left; 120 requests, 1 error (0.833%)');

    const step2 = r.advance(SECOND).tick({ requests: 121, errors: 1 });
    expect(step2.actions).toEqual([{ type: 'setWeight', weight: 50 }]);
    expect(step2.state).toMatchObject({ stepIndex: 1, weight: 50, stepStartedAt: T0 + 10 * SECOND + 5 * MINUTE });

    const done = r.advance(10 * MINUTE).tick({ requests: 600, errors: 3 });
    expect(done.actions).toEqual([{ type: 'setWeight', weight: 100 }, { type: 'promote' }]);
    expect(done.state.phase).toBe('healthy');
    expect(done.state.steps).toEqual([
      {
        index: 0,
        weight: 10,
        startedAt: T0 + 10 * SECOND,
        endedAt: T0 + 10 * SECOND + 5 * MINUTE,
        requests: 121,
        errors: 1,
        errorRate: 1 / 121,
        healthFailures: 0,
        outcome: 'passed',
      },
      {
        index: 1,
        weight: 50,
        startedAt: T0 + 10 * SECOND + 5 * MINUTE,
        endedAt: T0 + 10 * SECOND + 15 * MINUTE,
        requests: 600,
        errors: 3,
        errorRate: 0.005,
        healthFailures: 0,
        outcome: 'passed',
      },
      {
        index: 2,
        weight: 100,
        startedAt: r.now,
        endedAt: r.now,
        requests: 0,
        errors: 0,
        errorRate: null,
        healthFailures: 0,
        outcome: 'promoted',
      },
    ]);
  });

  it('records a step with too few requests as inconclusive, and still proceeds when its pause ends', () => {
    const r = new Rollout(canaryPlan());
    r.tick();
    r.tick();
    const next = r.advance(5 * MINUTE).tick({ requests: 19, errors: 5 });
    expect(next.actions).toEqual([{ type: 'setWeight', weight: 50 }]);
    expect(next.reason).toMatch(/^step 1 \(10%\) inconclusive: 19 requests, fewer than 20 needed/);
    expect(next.state.steps[0]).toMatchObject({ outcome: 'inconclusive', requests: 19, errors: 5 });
  });

  it('waits at a step without a pause until a promote, and a promote counts once', () => {
    const plan = canaryPlan({
      steps: [
        { weight: 20, pauseSeconds: null },
        { weight: 60, pauseSeconds: null },
        { weight: 100, pauseSeconds: null },
      ],
    });
    const r = new Rollout(plan);
    r.tick();
    const paused = r.tick();
    expect(paused.actions).toEqual([{ type: 'setWeight', weight: 20 }]);
    expect(paused.state.phase).toBe('paused');

    const stillPaused = r.advance(3 * 24 * 60 * MINUTE).tick({ requests: 5000 });
    expect(stillPaused.actions).toEqual([]);
    expect(stillPaused.reason).toBe('step 1 (20%): waiting for `idp deploy:promote`; 5000 requests, 0 errors (0%)');

    // Two promotes seen together (a double click) end one step, not two.
    r.promotes = 2;
    const promoted = r.tick({ requests: 5000 });
    expect(promoted.actions).toEqual([{ type: 'setWeight', weight: 60 }]);
    expect(promoted.state).toMatchObject({ phase: 'paused', stepIndex: 1, promotesSeen: 2 });
    expect(promoted.state.steps[0]).toMatchObject({ outcome: 'promoted', weight: 20 });

    // Replaying the same observation (a runner restart) does not advance again.
    expect(r.tick().actions).toEqual([]);

    r.promotes = 3;
    expect(r.tick().actions).toEqual([{ type: 'setWeight', weight: 100 }, { type: 'promote' }]);
    expect(r.state.phase).toBe('healthy');
  });

  it('lets a promote cut a timed pause short', () => {
    const r = new Rollout(canaryPlan());
    r.tick();
    r.tick();
    r.promotes = 1;
    const skipped = r.advance(MINUTE).tick({ requests: 3 });
    expect(skipped.actions).toEqual([{ type: 'setWeight', weight: 50 }]);
    expect(skipped.reason).toMatch(/^step 1 \(10%\) promoted on request; step 2 of 3/);
  });

  it('keeps a promote sent during start-up for step 1, never skipping the health gate', () => {
    const r = new Rollout(canaryPlan());
    r.tick();
    r.promotes = 1;
    expect(r.tick({ health: starting(2) }).actions).toEqual([]);
    expect(r.tick().actions).toEqual([{ type: 'setWeight', weight: 10 }]);
    expect(r.tick().actions).toEqual([{ type: 'setWeight', weight: 50 }]);
  });

  it('holds a final weight-100 step with a pause before promoting (a bake at full traffic)', () => {
    const r = new Rollout(
      canaryPlan({
        steps: [
          { weight: 50, pauseSeconds: 60 },
          { weight: 100, pauseSeconds: 120 },
        ],
      }),
    );
    r.tick();
    r.tick();
    expect(r.advance(MINUTE).tick({ requests: 40 }).actions).toEqual([{ type: 'setWeight', weight: 100 }]);
    expect(r.state.phase).toBe('progressing');
    expect(r.advance(MINUTE).tick({ requests: 80 }).actions).toEqual([]);
    expect(r.advance(MINUTE).tick({ requests: 160 }).actions).toEqual([{ type: 'promote' }]);
    expect(r.state.steps.map((s) => [s.weight, s.outcome])).toEqual([
      [50, 'passed'],
      [100, 'passed'],
    ]);
  });
});

describe('automatic rollback', () => {
  it('fails on threshold consecutive health failures of any canary replica, sending traffic back first', () => {
    const r = new Rollout(canaryPlan());
    r.tick();
    r.tick();
    const below = r.advance(20 * SECOND).tick({
      health: [
        { healthy: true, consecutiveFailures: 0 },
        { healthy: false, consecutiveFailures: 2 },
      ],
    });
    expect(below.actions).toEqual([]);

    const failed = r.advance(10 * SECOND).tick({
      health: [
        { healthy: true, consecutiveFailures: 0 },
        { healthy: false, consecutiveFailures: 3 },
      ],
      requests: 12,
      errors: 0,
    });
    const reason = 'health check failed 3 times in a row on new replica 2 (threshold 3)';
    const figures = {
      check: 'health',
      // Numbered from 1, like the reason: step 1 (index 0), replica 2 (the second one).
      step: 1,
      weight: 10,
      requests: 12,
      errors: 0,
      errorRate: 0,
      limit: 3,
      minRequests: 20,
      replica: 2,
      consecutiveFailures: 3,
    } as const;
    expect(failed.actions).toEqual([
      { type: 'setWeight', weight: 0 },
      { type: 'stopCanary' },
      { type: 'fail', reason, figures },
    ]);
    expect(failed.state).toMatchObject({
      phase: 'rolled_back',
      reason,
      failure: figures,
      weight: 0,
      canaryReplicas: 0,
      stableReplicas: 2,
    });
    expect(failed.state.steps).toEqual([expect.objectContaining({ index: 0, outcome: 'failed', healthFailures: 3 })]);
    expect(failed.reason).toBe(`rolled back: ${reason}`);
  });

  it('judges the error rate only once the step has min_requests, then fails without waiting for the pause', () => {
    const r = new Rollout(canaryPlan());
    r.tick();
    r.tick();
    // 3 of 19 is 16%, but 19 requests are too few to judge.
    expect(r.advance(MINUTE).tick({ requests: 19, errors: 3 }).actions).toEqual([]);
    const failed = r.advance(SECOND).tick({ requests: 20, errors: 3 });
    expect(failed.state.phase).toBe('rolled_back');
    expect(failed.state.reason).toBe('error rate 15% (3 of 20 requests) is above 1% at step 1 (weight 10%)');
    expect(failed.state.failure).toEqual({
      check: 'error_rate',
      step: 1, // "at step 1", as the reason says
      weight: 10,
      requests: 20,
      errors: 3,
      errorRate: 0.15,
      limit: 0.01,
      minRequests: 20,
    });
    expect(failed.actions.map((a) => a.type)).toEqual(['setWeight', 'stopCanary', 'fail']);
  });

  it('treats the threshold as strictly "above", and ignores the error rate without rollback.auto', () => {
    const atLimit = new Rollout(canaryPlan());
    atLimit.tick();
    atLimit.tick();
    expect(atLimit.advance(MINUTE).tick({ requests: 200, errors: 2 }).state.phase).toBe('progressing');

    const manual = new Rollout(canaryPlan({ rollback: { auto: false, maxErrorRate: 0.01, minRequests: 20 } }));
    manual.tick();
    manual.tick();
    expect(manual.advance(5 * MINUTE).tick({ requests: 100, errors: 50 }).actions).toEqual([
      { type: 'setWeight', weight: 50 },
    ]);
  });

  it('fails fast on a crash loop, before health failures reach the threshold', () => {
    const r = new Rollout(canaryPlan());
    r.tick();
    const failed = r.advance(2 * SECOND).tick({ health: starting(2), crashLoop: true });
    expect(failed.state.phase).toBe('rolled_back');
    expect(failed.state.reason).toBe('the new release is crash-looping');
    // No traffic had moved, so there is no weight to reset and no step to record.
    expect(failed.actions.map((a) => a.type)).toEqual(['stopCanary', 'fail']);
    expect(failed.state.failure).toMatchObject({ check: 'crash_loop', step: null, limit: null });
    expect(failed.state.steps).toEqual([]);
  });
});

describe('abort', () => {
  it('sends traffic back to stable, stops the canary and ends as aborted', () => {
    const r = new Rollout(canaryPlan());
    r.tick();
    r.tick();
    r.advance(6 * MINUTE).tick({ requests: 40 });
    const aborted = r.advance(MINUTE).tick({ requests: 30, abortRequested: true });
    expect(aborted.actions).toEqual([{ type: 'setWeight', weight: 0 }, { type: 'stopCanary' }]);
    expect(aborted.state).toMatchObject({ phase: 'aborted', weight: 0, canaryReplicas: 0, failure: null });
    expect(aborted.reason).toBe('aborted on request; traffic is back on the stable release');
    expect(aborted.state.steps.map((s) => s.outcome)).toEqual(['passed', 'aborted']);
    expect(r.advance(MINUTE).tick({ crashLoop: true }).actions).toEqual([]);
  });

  it('wins over a failure seen at the same time, and needs no actions before anything started', () => {
    const r = new Rollout(canaryPlan());
    r.tick();
    r.tick();
    const both = r.tick({ abortRequested: true, crashLoop: true });
    expect(both.state.phase).toBe('aborted');
    expect(both.actions.some((a) => a.type === 'fail')).toBe(false);

    const early = new Rollout(canaryPlan());
    const none = early.tick({ abortRequested: true });
    expect(none.state.phase).toBe('aborted');
    expect(none.actions).toEqual([]);
  });
});

describe('rolling and recreate', () => {
  it('rolling replaces replicas one by one, each behind its health check, shifting traffic as it goes', () => {
    const r = new Rollout(canaryPlan({ strategy: 'rolling', steps: [], replicas: 3 }));
    expect(r.tick().actions).toEqual([{ type: 'scaleCanary', replicas: 1 }]);
    expect(r.tick({ health: starting(1) }).reason).toBe(
      'replacing replica 1 of 3: waiting for health checks: 0 of 1 new replica healthy',
    );

    expect(r.tick().actions).toEqual([
      { type: 'setWeight', weight: 33 },
      { type: 'scaleStable', replicas: 2 },
      { type: 'scaleCanary', replicas: 2 },
    ]);
    // The second new replica is not healthy yet: nothing moves.
    expect(r.tick({ health: [...ok(1), ...starting(1)] }).actions).toEqual([]);
    expect(r.tick().actions).toEqual([
      { type: 'setWeight', weight: 67 },
      { type: 'scaleStable', replicas: 1 },
      { type: 'scaleCanary', replicas: 3 },
    ]);
    expect(r.tick().actions).toEqual([{ type: 'setWeight', weight: 100 }, { type: 'promote' }]);
    expect(r.state.phase).toBe('healthy');
    expect(r.state.steps.map((s) => [s.index, s.weight, s.outcome])).toEqual([
      [0, 33, 'passed'],
      [1, 67, 'passed'],
      [2, 100, 'passed'],
    ]);
  });

  it('rolling restores every stable replica before moving traffic back when a new one fails', () => {
    const r = new Rollout(canaryPlan({ strategy: 'rolling', steps: [], replicas: 3 }));
    r.tick();
    r.tick();
    const failed = r.tick({
      health: [
        { healthy: true, consecutiveFailures: 0 },
        { healthy: false, consecutiveFailures: 3 },
      ],
    });
    expect(failed.state.phase).toBe('rolled_back');
    expect(failed.actions.map((a) => a)).toEqual([
      { type: 'scaleStable', replicas: 3 },
      { type: 'setWeight', weight: 0 },
      { type: 'stopCanary' },
      expect.objectContaining({ type: 'fail' }),
    ]);
    expect(failed.state.reason).toContain('on new replica 2');
  });

  it('recreate stops the old release, starts the new one, promotes when healthy; a failure restarts the old', () => {
    const r = new Rollout(canaryPlan({ strategy: 'recreate', steps: [], replicas: 2 }));
    expect(r.tick().actions).toEqual([
      { type: 'scaleStable', replicas: 0 },
      { type: 'scaleCanary', replicas: 2 },
    ]);
    expect(r.tick({ health: starting(2) }).actions).toEqual([]);
    expect(r.tick().actions).toEqual([{ type: 'setWeight', weight: 100 }, { type: 'promote' }]);

    const bad = new Rollout(canaryPlan({ strategy: 'recreate', steps: [], replicas: 2 }));
    bad.tick();
    const failed = bad.tick({ health: starting(2), crashLoop: true });
    expect(failed.state.phase).toBe('rolled_back');
    expect(failed.actions.map((a) => a.type)).toEqual(['scaleStable', 'stopCanary', 'fail']);
    expect(failed.state.stableReplicas).toBe(2);
  });

  it('skipSteps (a rollback to a known-good version) goes straight to 100% but can still roll back', () => {
    const r = new Rollout(canaryPlan(), { skipSteps: true });
    r.tick();
    const done = r.tick();
    expect(done.actions).toEqual([{ type: 'setWeight', weight: 100 }, { type: 'promote' }]);
    // It reads as the rollback it is, not as a promoted canary.
    expect(done.state.reason).toBe('rolled back: this earlier release takes all traffic again');

    const bad = new Rollout(canaryPlan(), { skipSteps: true });
    bad.tick();
    expect(bad.tick({ crashLoop: true }).state.phase).toBe('rolled_back');
  });
});

describe('plans, restarts and purity', () => {
  it('builds a plan from a parsed deploy.yaml', () => {
    const parsed = parseDeploySpec(
      'service: {name: a, team: b}\nrun: {command: x, replicas: 4}\ndeploy:\n  canary: [{weight: 5, pause: 30s}, {weight: 100}]\n  healthcheck: {path: /h, interval: 5s, threshold: 2}\n  rollback: {on_error_rate: ">2%", min_requests: 50}\n',
    );
    if (!parsed.ok) throw new Error('expected a valid file');
    expect(rolloutPlanFromSpec(parsed.spec)).toEqual({
      strategy: 'canary',
      steps: [
        { weight: 5, pauseSeconds: 30 },
        { weight: 100, pauseSeconds: null },
      ],
      replicas: 4,
      healthcheck: { intervalSeconds: 5, threshold: 2 },
      rollback: { auto: true, maxErrorRate: 0.02, minRequests: 50 },
    });
  });

  it('refuses a canary plan that could never promote', () => {
    expect(() =>
      startRollout(canaryPlan({ steps: [{ weight: 50, pauseSeconds: null }] }), { now: T0, firstDeploy: false }),
    ).toThrow(/ending at weight 100/);
  });

  it('tells a restarted runner how to restore processes and the traffic split', () => {
    const r = new Rollout(canaryPlan());
    expect(resumeActions(r.state)).toEqual([]);
    r.tick();
    r.tick();
    expect(resumeActions(r.state)).toEqual([
      { type: 'scaleStable', replicas: 2 },
      { type: 'scaleCanary', replicas: 2 },
      { type: 'setWeight', weight: 10 },
    ]);
    r.advance(MINUTE).tick({ crashLoop: true });
    expect(resumeActions(r.state)).toEqual([]);
  });

  it('is deterministic and never mutates its input', () => {
    const r = new Rollout(canaryPlan());
    r.tick();
    r.tick();
    const state = structuredClone(r.state);
    const frozen = deepFreeze(structuredClone(r.state));
    const observation: RolloutObservation = {
      now: T0 + 5 * MINUTE + 10 * SECOND,
      health: ok(2),
      requests: 100,
      errors: 0,
    };
    const first = reconcileRollout(frozen, observation);
    const second = reconcileRollout(frozen, observation);
    expect(second).toEqual(first);
    expect(frozen).toEqual(state);
  });
});

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const child of Object.values(value)) deepFreeze(child);
    Object.freeze(value);
  }
  return value;
}
