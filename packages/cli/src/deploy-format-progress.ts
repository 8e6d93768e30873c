// The live rollout lines (stderr): where the rollout is, each finished step, and following a rollout until it ends.
import type { Deployment, DeploymentStep } from '@idp/contracts';
import type { WatchDeploymentOptions } from '@idp/client';
import { currentStep, formatHealth, formatPause, formatTraffic, stepLabel } from './deploy-format-figures.ts';

const FINISHED: ReadonlySet<Deployment['status']> = new Set(['healthy', 'rolled_back', 'aborted', 'failed']);

/** Healthy, rolled back, aborted or failed: nothing more will happen to it. */
export function isFinished(deployment: Deployment): boolean {
  return FINISHED.has(deployment.status);
}

/**
 * One line for where the rollout is now, e.g.
 * `step 1/3  weight 10% for 5m  health ok  canary: 37 requests, 0 errors (0.00%)`.
 */
export function formatProgress(deployment: Deployment): string {
  if (deployment.status === 'pending')
    return `pending: the ${deployment.strategy} rollout of ${deployment.version} is about to start`;
  const step = currentStep(deployment);
  const parts: string[] = [];
  if (step && deployment.step !== null) parts.push(stepLabel(deployment, deployment.step));
  parts.push(`weight ${deployment.weight}%${step?.pauseSeconds ? ` for ${formatPause(step.pauseSeconds)}` : ''}`);
  if (step) parts.push(`health ${formatHealth(step)}`, `canary: ${formatTraffic(step)}`);
  if (deployment.status === 'paused')
    parts.push(`paused: run \`idp deploy:promote ${deployment.id}\` to go on (or deploy:abort)`);
  return parts.join('  ');
}

const OUTCOME_MARKS: Record<string, string> = {
  passed: '✓',
  promoted: '✓',
  inconclusive: '·',
  failed: '✗',
  aborted: '✗',
};

/** A finished step: `✓ step 1/3 passed  weight 10%  health ok  120 requests, 1 error (0.83%)`. */
export function formatStepEnd(deployment: Deployment, step: DeploymentStep): string {
  const mark = OUTCOME_MARKS[step.outcome ?? ''] ?? '·';
  return `${mark} ${stepLabel(deployment, step.index)} ${step.outcome ?? 'ended'}  weight ${step.weight}%  health ${formatHealth(step)}  ${formatTraffic(step)}`;
}

export interface RolloutReporterOptions {
  /** Lines that only update the traffic figures come at most this often; default 5 s. */
  figuresEveryMs?: number;
  now?: () => number;
}

/**
 * Turns successive reads of a deployment into the lines a person follows: each finished step
 * once, and the current state whenever it changes. A change of step, weight, status or health
 * prints at once; traffic figures alone are throttled, as they change on every read.
 */
export class RolloutReporter {
  readonly #ended = new Set<number>();
  readonly #figuresEveryMs: number;
  readonly #now: () => number;
  #lastKey: string | undefined;
  #lastLine: string | undefined;
  #lastAt = 0;

  constructor(
    private readonly write: (line: string) => void,
    opts: RolloutReporterOptions = {},
  ) {
    this.#figuresEveryMs = opts.figuresEveryMs ?? 5000;
    this.#now = opts.now ?? Date.now;
  }

  update(deployment: Deployment): void {
    for (const step of deployment.steps) {
      if (step.outcome === null || this.#ended.has(step.index)) continue;
      this.#ended.add(step.index);
      this.write(formatStepEnd(deployment, step));
    }
    if (isFinished(deployment)) return;

    const step = currentStep(deployment);
    const key = [deployment.status, deployment.step, deployment.weight, step?.healthFailures ?? 0].join('|');
    const line = formatProgress(deployment);
    const now = this.#now();
    if (key === this.#lastKey && (line === this.#lastLine || now - this.#lastAt < this.#figuresEveryMs)) return;
    this.#lastKey = key;
    this.#lastLine = line;
    this.#lastAt = now;
    this.write(line);
  }
}

/** The one client call following needs; a fake in tests. */
export interface DeploymentWatcher {
  watchDeployment(id: string, opts: WatchDeploymentOptions): Promise<Deployment>;
}

export interface FollowOptions extends RolloutReporterOptions {
  intervalMs?: number;
  /** Ends the following early (Ctrl-C): resolves undefined, the rollout itself goes on. */
  signal?: AbortSignal;
}

/**
 * Follows a rollout until it has finished, writing its progress lines; resolves with the last
 * read, or undefined when `signal` stopped the following first.
 */
export async function followRollout(
  api: DeploymentWatcher,
  deployment: Deployment,
  write: (line: string) => void,
  opts: FollowOptions = {},
): Promise<Deployment | undefined> {
  const reporter = new RolloutReporter(write, opts);
  reporter.update(deployment);
  if (isFinished(deployment)) return deployment;
  try {
    return await api.watchDeployment(deployment.id, {
      until: isFinished,
      onUpdate: (d) => reporter.update(d),
      ...(opts.intervalMs === undefined ? {} : { intervalMs: opts.intervalMs }),
      ...(opts.signal ? { signal: opts.signal } : {}),
    });
  } catch (err) {
    if (opts.signal?.aborted) return undefined;
    throw err;
  }
}
