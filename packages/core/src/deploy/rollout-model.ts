// The rollout state machine's vocabulary: plan, state, observation, actions and decision (canary.ts
// holds the reducer over them).
import type { CanaryStep, DeclaredDeploySpec, DeployStrategy } from './spec.ts';

export type RolloutPhase = 'pending' | 'progressing' | 'paused' | 'healthy' | 'rolled_back' | 'aborted' | 'failed';

const TERMINAL: ReadonlySet<RolloutPhase> = new Set(['healthy', 'rolled_back', 'aborted', 'failed']);

export function isTerminalPhase(phase: RolloutPhase): boolean {
  return TERMINAL.has(phase);
}

/** The parts of a deploy.yaml a rollout needs, frozen when the rollout starts. */
export interface RolloutPlan {
  strategy: DeployStrategy;
  /** Canary steps; empty for rolling and recreate. */
  steps: CanaryStep[];
  replicas: number;
  healthcheck: { intervalSeconds: number; threshold: number };
  rollback: { auto: boolean; maxErrorRate: number; minRequests: number };
}

export type StepOutcome = 'passed' | 'inconclusive' | 'promoted' | 'failed' | 'aborted';

/**
 * One finished step. `promoted`: ended by a promotion (a person's promote, or the final weight-100
 * step, which promotes at once) rather than by its pause running out. For rolling, a step is one
 * replaced replica.
 */
export interface StepRecord {
  index: number;
  weight: number;
  startedAt: number;
  endedAt: number;
  requests: number;
  errors: number;
  /** errors / requests; null with no requests. */
  errorRate: number | null;
  /** Highest consecutive health-check failure count seen on a new replica when the step ended. */
  healthFailures: number;
  outcome: StepOutcome;
}

export interface FailureFigures {
  check: 'health' | 'error_rate' | 'crash_loop';
  /**
   * The step, numbered from 1 as people read it (`step 1/3` in the reason and the CLI); null
   * before any traffic moved. The state's `stepIndex` and the API's `step` stay 0-based indices.
   */
  step: number | null;
  weight: number;
  requests: number;
  errors: number;
  errorRate: number | null;
  /** The limit crossed: health threshold, or the error-rate fraction; null for a crash loop. */
  limit: number | null;
  minRequests: number;
  /** For a health failure: which new replica (numbered from 1, as in the reason), and its consecutive failures. */
  replica?: number;
  consecutiveFailures?: number;
}

export interface RolloutState {
  plan: RolloutPlan;
  /** No stable release exists: nothing to roll back to, and no steps to walk. */
  firstDeploy: boolean;
  /** Go straight to 100% after health checks (explicit rollback to a known-good version). */
  skipSteps: boolean;
  phase: RolloutPhase;
  /**
   * canary: index into plan.steps, -1 while the new replicas start (no traffic yet);
   * rolling: index of the replica being replaced; direct and recreate: -1.
   */
  stepIndex: number;
  /** When the current step (or start-up stage) began; the runner counts requests from here. */
  stepStartedAt: number;
  startedAt: number;
  endedAt: number | null;
  /** Percent of traffic the proxy must send to the canary. */
  weight: number;
  canaryReplicas: number;
  stableReplicas: number;
  /** How many promote commands have been acted on (see RolloutObservation.promoteRequests). */
  promotesSeen: number;
  steps: StepRecord[];
  reason: string | null;
  failure: FailureFigures | null;
}

export interface ReplicaHealth {
  /** The most recent check passed. */
  healthy: boolean;
  consecutiveFailures: number;
}

export interface RolloutObservation {
  now: number;
  /** One entry per running canary replica, in replica order. */
  health: readonly ReplicaHealth[];
  /** Requests and 5xx answers of the canary since `state.stepStartedAt`. */
  requests: number;
  errors: number;
  crashLoop?: boolean;
  /** Total promote commands received for this rollout (a counter the API increments). */
  promoteRequests?: number;
  abortRequested?: boolean;
}

export type RolloutAction =
  | { type: 'scaleCanary'; replicas: number }
  | { type: 'scaleStable'; replicas: number }
  | { type: 'setWeight'; weight: number }
  /** The canary becomes the stable release; the old stable release's processes stop. */
  | { type: 'promote' }
  /** Stop every canary process (traffic has already left it). */
  | { type: 'stopCanary' }
  /** Record the failure (deployment status, events, audit). */
  | { type: 'fail'; reason: string; figures: FailureFigures };

export interface RolloutDecision {
  state: RolloutState;
  actions: RolloutAction[];
  /** What happened or what is awaited, in words, for `deploy:status` and the CLI's live view. */
  reason: string;
}

export function rolloutPlanFromSpec(spec: DeclaredDeploySpec): RolloutPlan {
  return {
    strategy: spec.deploy.strategy,
    steps: spec.deploy.strategy === 'canary' ? spec.deploy.canary.map((step) => ({ ...step })) : [],
    replicas: spec.run.replicas,
    healthcheck: {
      intervalSeconds: spec.deploy.healthcheck.intervalSeconds,
      threshold: spec.deploy.healthcheck.threshold,
    },
    rollback: { ...spec.deploy.rollback },
  };
}
