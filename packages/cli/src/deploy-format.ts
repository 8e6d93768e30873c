/**
 * What the deploy commands print: the live rollout lines (stderr), the final deployment (stdout),
 * the history table and the deploy.yaml validation result. Pure functions of the API objects,
 * tested without a server. `@idp/core` (the deploy.yaml parser) is only imported for its types
 * here; commands load it on demand (`loadDeployCore`), as it brings the policy engine along.
 *
 * The parts live beside it: the small formatters (deploy-format-figures.ts), the live lines and
 * following (deploy-format-progress.ts), the start, outcome and final record
 * (deploy-format-summary.ts), the validation result (deploy-format-validate.ts), the catalog
 * checks (deploy-format-catalog.ts) and the server errors' details (deploy-format-errors.ts).
 */

export const loadDeployCore = () => import('@idp/core');

export {
  formatBytes,
  formatErrorRate,
  formatHealth,
  formatPause,
  formatTraffic,
  stepErrorRate,
} from './deploy-format-figures.ts';
export {
  followRollout,
  formatProgress,
  formatStepEnd,
  isFinished,
  RolloutReporter,
  type DeploymentWatcher,
  type FollowOptions,
  type RolloutReporterOptions,
} from './deploy-format-progress.ts';
export {
  formatDeployment,
  formatFigures,
  formatKind,
  formatOutcome,
  formatPlan,
  formatRelease,
  formatStart,
  outcomeExitCode,
} from './deploy-format-summary.ts';
export {
  formatInferredNote,
  formatNodeWarning,
  formatStrategy,
  formatValid,
  type ValidationResult,
} from './deploy-format-validate.ts';
export { catalogProblems, ownerTeam, yamlPosition, type CatalogFacts, type Position } from './deploy-format-catalog.ts';
export { buildOutputOf, problemsOf } from './deploy-format-errors.ts';
