// What a deployment came to (stdout): its start line, its plan, the closing line, the final record with its step table, a release.
import type { Deployment, Release } from '@idp/contracts';
import { displayRef } from '@idp/core/refs';
import { formatBytes, formatErrorRate, formatHealth, formatPause, stepErrorRate } from './deploy-format-figures.ts';
import { formatProgress } from './deploy-format-progress.ts';
import { formatCell, formatColumns, formatRecord, formatTime } from './output.ts';

/**
 * What made the deployment, where a strategy would otherwise be shown: `rollback to <version>` for
 * a rollback (it skips the steps of the release's strategy), the strategy for a deploy.
 */
export function formatKind(deployment: Deployment): string {
  switch (deployment.kind) {
    case 'rollback':
      return `rollback to ${deployment.version}`;
    case 'deploy':
      return deployment.strategy;
  }
}

/** `canary 10% for 5m → 50% → 100%` from the rollout's own steps; the strategy alone without steps. */
export function formatPlan(deployment: Deployment): string {
  if (deployment.kind === 'rollback') return `${formatKind(deployment)}, straight to 100% once healthy`;
  if (deployment.steps.length === 0) return deployment.strategy;
  const steps = deployment.steps.map(
    (step) => `${step.weight}%${step.pauseSeconds ? ` for ${formatPause(step.pauseSeconds)}` : ''}`,
  );
  return `${deployment.strategy} ${steps.join(' → ')}`;
}

/** `Deployment dep_1: payments-api v2 to staging (replacing v1), canary 10% for 5m → 100%`. */
export function formatStart(deployment: Deployment): string {
  const replacing = deployment.previousVersion ? ` (replacing ${deployment.previousVersion})` : '';
  if (deployment.kind === 'rollback')
    return `Rollback ${deployment.id}: ${deployment.service} in ${deployment.env} back to ${deployment.version}${replacing}, straight to 100% once healthy`;
  return `Deployment ${deployment.id}: ${deployment.service} ${deployment.version} to ${deployment.env}${replacing}, ${formatPlan(deployment)}`;
}

/** The closing line: what the rollout came to, and why when it did not end healthy. */
export function formatOutcome(deployment: Deployment): string {
  const what = `${deployment.service} ${deployment.version} in ${deployment.env}`;
  switch (deployment.status) {
    case 'healthy':
      return deployment.kind === 'rollback'
        ? `✓ ${deployment.service} in ${deployment.env} is rolled back to ${deployment.version}, healthy and taking all traffic at ${deployment.url}`
        : `✓ ${what} is healthy and takes all traffic at ${deployment.url}`;
    case 'rolled_back':
      return `✗ ${what} was rolled back${deployment.previousVersion ? ` (${deployment.previousVersion} keeps serving)` : ''}: ${deployment.reason ?? 'no reason given'}`;
    case 'aborted':
      return `✗ ${what} was aborted${deployment.previousVersion ? ` (${deployment.previousVersion} keeps serving)` : ''}: ${deployment.reason ?? 'no reason given'}`;
    case 'failed':
      return `✗ ${what} failed: ${deployment.reason ?? 'no reason given'}`;
    default:
      return `${what} is ${deployment.status}: ${formatProgress(deployment)}`;
  }
}

/** Exit code of a followed rollout: 0 healthy, 1 when it ended any other way. */
export function outcomeExitCode(deployment: Deployment): number {
  return deployment.status === 'healthy' ? 0 : 1;
}

/** The final deployment: its fields, then one row per step with its figures. */
export function formatDeployment(deployment: Deployment): string {
  const fields: Array<[string, unknown]> = [
    ['id', deployment.id],
    ['service', deployment.service],
    ['env', deployment.env],
    ['version', deployment.version],
    ['previous', deployment.previousVersion],
    ['strategy', deployment.kind === 'rollback' ? `${formatKind(deployment)} (steps skipped)` : deployment.strategy],
    ['status', deployment.status],
    ['reason', deployment.reason],
    ['weight', `${deployment.weight}%`],
    ['url', deployment.url],
    ['created', `${formatTime(deployment.createdAt)} by ${displayRef(deployment.createdBy)}`],
    ['finished', formatTime(deployment.finishedAt)],
  ];
  if (deployment.figures && Object.keys(deployment.figures).length > 0)
    fields.push(['figures', formatFigures(deployment.figures)]);
  let text = formatRecord(fields);
  if (deployment.steps.length > 0) {
    text += `\n${formatColumns(
      ['STEP', 'WEIGHT', 'PAUSE', 'OUTCOME', 'REQUESTS', 'ERRORS', 'ERROR RATE', 'HEALTH'],
      deployment.steps.map((step) => [
        `${step.index + 1}/${deployment.steps.length}`,
        `${step.weight}%`,
        formatPause(step.pauseSeconds),
        step.outcome ?? (step.startedAt && !step.endedAt ? 'running' : null),
        step.requests,
        step.errors,
        formatErrorRate(stepErrorRate(step)),
        step.startedAt ? formatHealth(step) : null,
      ]),
    )}`;
  }
  return text;
}

/** `errorRate=5.00%, requests=200`: measured figures in the order the server gave them; rates as percentages. */
export function formatFigures(figures: Record<string, unknown>): string {
  return Object.entries(figures)
    .map(([key, value]) => {
      if (typeof value === 'number' && /rate$/i.test(key)) return `${key}=${formatErrorRate(value)}`;
      if (typeof value === 'number' && !Number.isInteger(value)) return `${key}=${Number(value.toPrecision(4))}`;
      return `${key}=${formatCell(value)}`;
    })
    .join(', ');
}

/** `Release 7761f2bbd4ec-443679efa03c (51.2 kB, built in 4.2s)`. */
export function formatRelease(release: Release): string {
  const built = release.buildMs === null ? 'no build command' : `built in ${(release.buildMs / 1000).toFixed(1)}s`;
  return `Release ${release.version} of ${release.service} (${formatBytes(release.sizeBytes)}, ${built})`;
}
