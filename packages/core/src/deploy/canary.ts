import { formatDuration } from '../durations.ts';
import {
  isTerminalPhase,
  type FailureFigures,
  type ReplicaHealth,
  type RolloutAction,
  type RolloutDecision,
  type RolloutObservation,
  type RolloutPhase,
  type RolloutPlan,
  type RolloutState,
  type StepOutcome,
  type StepRecord,
} from './rollout-model.ts';

/**
 * The rollout state machine, as a pure reconciler: `reconcileRollout(state, observation)` returns
 * the next state and the actions the runner must carry out, in order. Time comes in as
 * `observation.now`, so every rule is testable with a fake clock and nothing here sleeps or does I/O.
 *
 * Vocabulary: "stable" is the release serving before this rollout; "canary" is the release being
 * rolled out, whatever the strategy. The state also records the desired runtime shape (weight and
 * replica counts), so a runner restarted mid-rollout can restore it with `resumeActions(state)`.
 *
 * Decisions:
 * - A service's first deploy, or a rollout started with `skipSteps` (an explicit rollback to a
 *   known-good version), goes straight to 100% once every new replica passes a health check.
 * - Canary steps set the weight, then wait their pause; without one they wait for a promote. The
 *   final weight-100 step promotes at once, or after its pause if it has one (a bake at full traffic
 *   while the stable release is still warm for a rollback).
 * - Health: `threshold` consecutive failures on any new replica fail the rollout, in every strategy
 *   and stage, including before any traffic moves.
 * - Error rate (with rollback.auto): judged only once the canary served `minRequests` in the step;
 *   above `maxErrorRate` fails the rollout at once, without waiting for the pause to end.
 * - Too few requests when a pause ends is inconclusive, not a pass: the rollout proceeds (the
 *   health gate still held) and the step records `inconclusive` so people can see it was unjudged.
 * - A promote ends the current step's wait (pause or manual gate). Promotes are counted, not
 *   flagged, so a runner replaying an observation cannot skip two steps with one command, and
 *   several promotes seen at once still end only one step. A promote sent while the new replicas
 *   are still starting is kept and ends step 1 once it begins: health gates are never skipped.
 *   rolling and recreate ignore promotes (they are gated on health alone).
 * - Abort beats everything; a crash loop fails before health counts reach the threshold.
 * - Failure or abort restores the stable release first (its replicas, then all traffic), then stops
 *   the canary. With no stable release (first deploy) the end state is `failed`, not `rolled_back`.
 */

export * from './rollout-model.ts';

export interface StartRolloutOptions {
  now: number;
  firstDeploy: boolean;
  skipSteps?: boolean;
  /** Replicas the stable release runs now; defaults to the plan's count. */
  stableReplicas?: number;
}

export function startRollout(plan: RolloutPlan, options: StartRolloutOptions): RolloutState {
  if (plan.strategy === 'canary' && (plan.steps.length === 0 || plan.steps[plan.steps.length - 1]!.weight !== 100)) {
    // parseDeploySpec rules this out; a hand-built plan that breaks it would never promote.
    throw new Error('a canary plan needs steps ending at weight 100');
  }
  return {
    plan,
    firstDeploy: options.firstDeploy,
    skipSteps: options.skipSteps ?? false,
    phase: 'pending',
    stepIndex: -1,
    stepStartedAt: options.now,
    startedAt: options.now,
    endedAt: null,
    weight: 0,
    canaryReplicas: 0,
    stableReplicas: options.firstDeploy ? 0 : (options.stableReplicas ?? plan.replicas),
    promotesSeen: 0,
    steps: [],
    reason: null,
    failure: null,
  };
}

export function reconcileRollout(state: RolloutState, observation: RolloutObservation): RolloutDecision {
  if (isTerminalPhase(state.phase)) {
    return { state, actions: [], reason: state.reason ?? state.phase };
  }
  const now = observation.now;
  if (observation.abortRequested) return abort(state, observation);
  if (state.phase === 'pending') return begin(state, now);

  const failure = findFailure(state, observation);
  if (failure) return rollBack(state, observation, failure);

  if (direct(state) || state.plan.strategy === 'recreate') return awaitReadyThenPromote(state, observation);
  if (state.plan.strategy === 'rolling') return rollingStep(state, observation);
  if (state.stepIndex < 0) return awaitReadyThenEnterSteps(state, observation);
  return canaryStep(state, observation);
}

/** What a restarted runner must re-apply so processes and the traffic split match the state. */
export function resumeActions(state: RolloutState): RolloutAction[] {
  if (isTerminalPhase(state.phase) || state.phase === 'pending') return [];
  const actions: RolloutAction[] = [];
  if (!state.firstDeploy) actions.push({ type: 'scaleStable', replicas: state.stableReplicas });
  actions.push({ type: 'scaleCanary', replicas: state.canaryReplicas });
  actions.push({ type: 'setWeight', weight: state.weight });
  return actions;
}

function direct(state: RolloutState): boolean {
  return state.firstDeploy || state.skipSteps;
}

function begin(state: RolloutState, now: number): RolloutDecision {
  const n = state.plan.replicas;
  const base = { ...state, phase: 'progressing' as const, stepStartedAt: now };
  if (!direct(state) && state.plan.strategy === 'recreate') {
    return decide(
      { ...base, stableReplicas: 0, canaryReplicas: n },
      [
        { type: 'scaleStable', replicas: 0 },
        { type: 'scaleCanary', replicas: n },
      ],
      `stopped the running release; starting ${plural(n, 'replica')} of the new one`,
    );
  }
  if (!direct(state) && state.plan.strategy === 'rolling') {
    return decide(
      { ...base, stepIndex: 0, canaryReplicas: 1 },
      [{ type: 'scaleCanary', replicas: 1 }],
      `replacing replica 1 of ${n}`,
    );
  }
  return decide(
    { ...base, canaryReplicas: n },
    [{ type: 'scaleCanary', replicas: n }],
    `starting ${plural(n, 'replica')} of the new release`,
  );
}

function findFailure(
  state: RolloutState,
  observation: RolloutObservation,
): { reason: string; figures: FailureFigures } | undefined {
  const { plan } = state;
  const base = {
    step: state.stepIndex >= 0 ? state.stepIndex + 1 : null,
    weight: state.weight,
    requests: observation.requests,
    errors: observation.errors,
    errorRate: rate(observation.errors, observation.requests),
    minRequests: plan.rollback.minRequests,
  };
  if (observation.crashLoop) {
    return { reason: 'the new release is crash-looping', figures: { check: 'crash_loop', ...base, limit: null } };
  }
  const threshold = plan.healthcheck.threshold;
  const failing = observation.health.findIndex((replica) => replica.consecutiveFailures >= threshold);
  if (failing >= 0) {
    const count = observation.health[failing]!.consecutiveFailures;
    return {
      reason: `health check failed ${count} times in a row on new replica ${failing + 1} (threshold ${threshold})`,
      figures: { check: 'health', ...base, limit: threshold, replica: failing + 1, consecutiveFailures: count },
    };
  }
  const errorRate = base.errorRate;
  if (
    plan.rollback.auto &&
    observation.requests >= plan.rollback.minRequests &&
    errorRate !== null &&
    errorRate > plan.rollback.maxErrorRate
  ) {
    return {
      reason:
        `error rate ${percent(errorRate)} (${observation.errors} of ${observation.requests} requests) is above ` +
        `${percent(plan.rollback.maxErrorRate)}${where(state)}`,
      figures: { check: 'error_rate', ...base, limit: plan.rollback.maxErrorRate },
    };
  }
  return undefined;
}

function rollBack(
  state: RolloutState,
  observation: RolloutObservation,
  failure: { reason: string; figures: FailureFigures },
): RolloutDecision {
  const restored = restoreStable(state, observation, 'failed');
  const phase: RolloutPhase = state.firstDeploy ? 'failed' : 'rolled_back';
  return decide(
    { ...restored.state, phase, reason: failure.reason, failure: failure.figures },
    [...restored.actions, { type: 'fail', reason: failure.reason, figures: failure.figures }],
    `${phase === 'failed' ? 'failed' : 'rolled back'}: ${failure.reason}`,
  );
}

function abort(state: RolloutState, observation: RolloutObservation): RolloutDecision {
  const restored = restoreStable(state, observation, 'aborted');
  const reason = state.firstDeploy ? 'aborted on request' : 'aborted on request; traffic is back on the stable release';
  return decide({ ...restored.state, phase: 'aborted', reason }, restored.actions, reason);
}

// Order matters: the stable release must be running before traffic returns to it, and traffic
// must have left the canary before its processes stop.
function restoreStable(
  state: RolloutState,
  observation: RolloutObservation,
  outcome: 'failed' | 'aborted',
): { state: RolloutState; actions: RolloutAction[] } {
  const actions: RolloutAction[] = [];
  const n = state.plan.replicas;
  let stableReplicas = state.stableReplicas;
  if (!state.firstDeploy && stableReplicas < n) {
    actions.push({ type: 'scaleStable', replicas: n });
    stableReplicas = n;
  }
  if (state.weight > 0) actions.push({ type: 'setWeight', weight: 0 });
  if (state.canaryReplicas > 0) actions.push({ type: 'stopCanary' });
  const steps =
    state.phase !== 'pending' && state.stepIndex >= 0
      ? [...state.steps, record(state, observation, outcome)]
      : state.steps;
  return {
    state: { ...state, stableReplicas, weight: 0, canaryReplicas: 0, steps, endedAt: observation.now },
    actions,
  };
}

function allReady(health: readonly ReplicaHealth[], count: number): boolean {
  return health.length >= count && health.slice(0, count).every((replica) => replica.healthy);
}

function awaitReadyThenPromote(state: RolloutState, observation: RolloutObservation): RolloutDecision {
  const n = state.plan.replicas;
  if (!allReady(observation.health, n)) return wait(state, readiness(observation.health, n));
  return promote(
    state,
    observation.now,
    [{ type: 'setWeight', weight: 100 }],
    state.steps,
    'every new replica is healthy',
  );
}

function awaitReadyThenEnterSteps(state: RolloutState, observation: RolloutObservation): RolloutDecision {
  const n = state.plan.replicas;
  if (!allReady(observation.health, n)) return wait(state, readiness(observation.health, n));
  return enterStep(state, 0, observation.now, state.steps, 'every new replica is healthy');
}

function canaryStep(state: RolloutState, observation: RolloutObservation): RolloutDecision {
  const step = state.plan.steps[state.stepIndex]!;
  const promotes = observation.promoteRequests ?? 0;
  const label = `step ${state.stepIndex + 1} (${step.weight}%)`;
  if (promotes > state.promotesSeen) {
    const steps = [...state.steps, record(state, observation, 'promoted')];
    return enterStep(
      { ...state, promotesSeen: promotes },
      state.stepIndex + 1,
      observation.now,
      steps,
      `${label} promoted on request`,
    );
  }
  if (step.pauseSeconds === null) {
    return wait(state, `${label}: waiting for \`idp deploy:promote\`; ${figures(observation)}`);
  }
  const elapsedMs = observation.now - state.stepStartedAt;
  const pauseMs = step.pauseSeconds * 1000;
  if (elapsedMs < pauseMs) {
    const left = Math.ceil((pauseMs - elapsedMs) / 1000);
    return wait(
      state,
      `${label}: ${formatDuration(left)} of ${formatDuration(step.pauseSeconds)} left; ${figures(observation)}`,
    );
  }
  const judged = observation.requests >= state.plan.rollback.minRequests;
  const outcome: StepOutcome = judged ? 'passed' : 'inconclusive';
  const steps = [...state.steps, record(state, observation, outcome)];
  const why = judged
    ? `${label} passed; ${figures(observation)}`
    : `${label} inconclusive: ${plural(observation.requests, 'request')}, fewer than ${state.plan.rollback.minRequests} needed to judge the error rate`;
  if (state.stepIndex + 1 >= state.plan.steps.length) {
    return promote(state, observation.now, [], steps, why);
  }
  return enterStep(state, state.stepIndex + 1, observation.now, steps, why);
}

function enterStep(state: RolloutState, index: number, now: number, steps: StepRecord[], why: string): RolloutDecision {
  const step = state.plan.steps[index];
  if (!step) return promote(state, now, [], steps, why);
  const actions: RolloutAction[] = [{ type: 'setWeight', weight: step.weight }];
  if (step.weight === 100 && step.pauseSeconds === null) {
    const instant: StepRecord = {
      index,
      weight: 100,
      startedAt: now,
      endedAt: now,
      requests: 0,
      errors: 0,
      errorRate: null,
      healthFailures: 0,
      outcome: 'promoted',
    };
    return promote({ ...state, stepIndex: index, weight: 100 }, now, actions, [...steps, instant], why);
  }
  const phase: RolloutPhase = step.pauseSeconds === null ? 'paused' : 'progressing';
  const next =
    phase === 'paused' ? 'waiting for `idp deploy:promote`' : `pausing ${formatDuration(step.pauseSeconds!)}`;
  return decide(
    { ...state, phase, stepIndex: index, stepStartedAt: now, weight: step.weight, steps },
    actions,
    `${why}; step ${index + 1} of ${state.plan.steps.length}: ${step.weight}% of traffic on the new release, ${next}`,
  );
}

function rollingStep(state: RolloutState, observation: RolloutObservation): RolloutDecision {
  const n = state.plan.replicas;
  const k = state.stepIndex;
  if (!allReady(observation.health, k + 1)) {
    return wait(state, `replacing replica ${k + 1} of ${n}: ${readiness(observation.health, k + 1)}`);
  }
  const weight = Math.round((100 * (k + 1)) / n);
  const replaced = { ...state, weight };
  const steps = [...state.steps, record(replaced, observation, 'passed')];
  const why = `replica ${k + 1} of ${n} replaced`;
  if (k + 1 >= n) return promote(replaced, observation.now, [{ type: 'setWeight', weight: 100 }], steps, why);
  return decide(
    {
      ...replaced,
      stepIndex: k + 1,
      stepStartedAt: observation.now,
      canaryReplicas: k + 2,
      stableReplicas: n - k - 1,
      steps,
    },
    [
      { type: 'setWeight', weight },
      { type: 'scaleStable', replicas: n - k - 1 },
      { type: 'scaleCanary', replicas: k + 2 },
    ],
    `${why}; ${weight}% of traffic on the new release; replacing replica ${k + 2} of ${n}`,
  );
}

function promote(
  state: RolloutState,
  now: number,
  before: RolloutAction[],
  steps: StepRecord[],
  why: string,
): RolloutDecision {
  // skipSteps is a rollback to a known-good version: say so rather than "promoted".
  const done = state.skipSteps
    ? 'rolled back: this earlier release takes all traffic again'
    : 'promoted: the new release is stable';
  return decide(
    {
      ...state,
      phase: 'healthy',
      weight: 100,
      stableReplicas: 0,
      canaryReplicas: state.plan.replicas,
      steps,
      endedAt: now,
      reason: done,
    },
    [...before, { type: 'promote' }],
    `${why}; ${done}`,
  );
}

function wait(state: RolloutState, reason: string): RolloutDecision {
  return { state, actions: [], reason };
}

function decide(state: RolloutState, actions: RolloutAction[], reason: string): RolloutDecision {
  return { state, actions, reason };
}

function record(state: RolloutState, observation: RolloutObservation, outcome: StepOutcome): StepRecord {
  return {
    index: state.stepIndex,
    weight: state.weight,
    startedAt: state.stepStartedAt,
    endedAt: observation.now,
    requests: observation.requests,
    errors: observation.errors,
    errorRate: rate(observation.errors, observation.requests),
    healthFailures: observation.health.reduce((max, replica) => Math.max(max, replica.consecutiveFailures), 0),
    outcome,
  };
}

function readiness(health: readonly ReplicaHealth[], count: number): string {
  const ready = health.slice(0, count).filter((replica) => replica.healthy).length;
  return `waiting for health checks: ${ready} of ${count} new ${count === 1 ? 'replica' : 'replicas'} healthy`;
}

function where(state: RolloutState): string {
  if (state.plan.strategy === 'canary' && state.stepIndex >= 0)
    return ` at step ${state.stepIndex + 1} (weight ${state.weight}%)`;
  if (state.plan.strategy === 'rolling' && state.stepIndex >= 0)
    return ` while replacing replica ${state.stepIndex + 1}`;
  return '';
}

function figures(observation: RolloutObservation): string {
  const r = rate(observation.errors, observation.requests);
  return `${plural(observation.requests, 'request')}, ${plural(observation.errors, 'error')}${r === null ? '' : ` (${percent(r)})`}`;
}

function rate(errors: number, requests: number): number | null {
  return requests > 0 ? errors / requests : null;
}

function percent(fraction: number): string {
  return `${Number((fraction * 100).toPrecision(3))}%`;
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
