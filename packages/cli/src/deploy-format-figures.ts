// The deploy commands' small formatters: error rates, pauses, sizes, a step's traffic and health, its label.
import type { Deployment, DeploymentStep } from '@idp/contracts';
import { formatDuration } from '@idp/core/durations';

/** `0.83%`; `-` before anything was measured. */
export function formatErrorRate(rate: number | null | undefined): string {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return '-';
  return `${(rate * 100).toFixed(2)}%`;
}

/** The server's figure, else errors / requests once there were requests. */
export function stepErrorRate(step: DeploymentStep): number | null {
  if (step.errorRate !== null) return step.errorRate;
  return step.requests > 0 ? step.errors / step.requests : null;
}

/** `90s`, `5m`, `2h`, `7d`: core's exact form, as deploy.yaml writes durations. */
export function formatPause(seconds: number | null): string {
  return seconds === null ? '-' : formatDuration(seconds);
}

/** `51.2 kB`; bytes below a kilobyte as they are. */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${bytes} B`;
  const units = ['kB', 'MB', 'GB'];
  let value = bytes / 1000;
  let unit = 0;
  while (value >= 1000 && unit < units.length - 1) {
    value /= 1000;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

/** `120 requests, 1 error (0.83%)`: what the canary served during a step. */
export function formatTraffic(step: DeploymentStep): string {
  return `${plural(step.requests, 'request')}, ${plural(step.errors, 'error')} (${formatErrorRate(stepErrorRate(step))})`;
}

/** `ok`, or how many health checks in a row failed on the worst canary replica. */
export function formatHealth(step: DeploymentStep): string {
  return step.healthFailures === 0 ? 'ok' : `${plural(step.healthFailures, 'failed check')} in a row`;
}

export function stepLabel(deployment: Deployment, index: number): string {
  return `step ${index + 1}/${deployment.steps.length}`;
}

export function currentStep(deployment: Deployment): DeploymentStep | undefined {
  return deployment.step === null ? undefined : deployment.steps[deployment.step];
}
