export {
  DEFAULT_REPLICAS,
  DEPLOY_STRATEGIES,
  DeployFileSchema,
  DeploySpecSchema,
  deploySpecJsonSchema,
  parseErrorRate,
} from './spec.ts';
export type { CanaryStep, DeclaredDeploySpec, DeployFile, DeploySpec, DeployStrategy } from './spec.ts';
export {
  checkNodeEngine,
  formatInferred,
  inferDeploySpec,
  INFERENCE_FILES,
  nodeEngineError,
  procfileWeb,
} from './infer.ts';
export type { InferenceFile, InferredNote, InferResult, NodeCheck, ReleaseFiles } from './infer.ts';
export { formatProblems, parseDeploySpec } from './parse.ts';
export type { DeployProblem, ParseDeploySpecResult } from './parse.ts';
export { isTerminalPhase, reconcileRollout, resumeActions, rolloutPlanFromSpec, startRollout } from './canary.ts';
export type {
  FailureFigures,
  ReplicaHealth,
  RolloutAction,
  RolloutDecision,
  RolloutObservation,
  RolloutPhase,
  RolloutPlan,
  RolloutState,
  StartRolloutOptions,
  StepOutcome,
  StepRecord,
} from './canary.ts';
