import type { Deployment, DeploymentStep, Release } from '@idp/contracts';
import type { WatchDeploymentOptions } from '@idp/client';
import type { DeclaredDeploySpec, DeployProblem, InferredNote, NodeCheck } from '@idp/core';
import { formatDuration } from '@idp/core/durations';
import { displayRef } from '@idp/core/refs';
import { formatCell, formatColumns, formatRecord, formatTime } from './output.ts';

/**
 * What the deploy commands print: the live rollout lines (stderr), the final deployment (stdout),
 * the history table and the deploy.yaml validation result. Pure functions of the API objects,
 * tested without a server. `@idp/core` (the deploy.yaml parser) is only imported for its types
 * here; commands load it on demand (`loadDeployCore`), as it brings the policy engine along.
 */

export const loadDeployCore = () => import('@idp/core');

const FINISHED: ReadonlySet<Deployment['status']> = new Set(['healthy', 'rolled_back', 'aborted', 'failed']);

/** Healthy, rolled back, aborted or failed: nothing more will happen to it. */
export function isFinished(deployment: Deployment): boolean {
  return FINISHED.has(deployment.status);
}

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

function stepLabel(deployment: Deployment, index: number): string {
  return `step ${index + 1}/${deployment.steps.length}`;
}

function currentStep(deployment: Deployment): DeploymentStep | undefined {
  return deployment.step === null ? undefined : deployment.steps[deployment.step];
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

/** `canary 10% for 5m → 50% until promoted → 100%`, `rolling`, `recreate`. */
export function formatStrategy(spec: DeclaredDeploySpec): string {
  const { strategy, canary } = spec.deploy;
  if (strategy !== 'canary') return strategy;
  const steps = canary.map((step, index) => {
    if (step.pauseSeconds !== null) return `${step.weight}% for ${formatPause(step.pauseSeconds)}`;
    return index === canary.length - 1 ? `${step.weight}%` : `${step.weight}% until promoted`;
  });
  return `canary ${steps.join(' → ')}`;
}

/** `✓ .idp/deploy.yaml is valid (service payments-api, team payments, strategy canary …)`. */
export function formatValid(file: string, spec: DeclaredDeploySpec): string {
  return `✓ ${file} is valid (service ${spec.service.name}, team ${spec.service.team}, strategy ${formatStrategy(spec)})`;
}

/** Same text as core's formatInferred, without loading core for it. */
export function formatInferredNote(note: InferredNote, runtimeNode?: string): string {
  if (note.field === 'node')
    return `node: ${note.value} (from package.json engines${runtimeNode ? `; runtime has ${runtimeNode}` : ''})`;
  return `${note.field}: ${note.value} (inferred from ${note.from})`;
}

/** A warning when package.json's engines.node excludes (or cannot be read against) the runtime's Node.js. */
export function formatNodeWarning(check: NodeCheck): string | undefined {
  switch (check.status) {
    case 'ok':
      return undefined;
    case 'excluded':
      return `Warning: package.json wants Node.js ${check.range} (engines.node), but the runtime has ${check.version}; the control plane will refuse the deploy (DEPLOY_NODE_UNSUPPORTED). Widen engines.node to include ${check.version}.`;
    case 'unreadable':
      return `Warning: package.json's engines.node "${check.range}" is not a semver range; it is not checked against the runtime's ${check.version}.`;
  }
}

/** What `idp deploy:validate -o json` prints. */
export interface ValidationResult {
  valid: boolean;
  file: string;
  problems: DeployProblem[];
  /** The spec with what was inferred filled in (or as declared, when run could not be inferred). */
  spec: DeclaredDeploySpec | null;
  /** What would be inferred from the service directory: run, build, node. */
  inferred: InferredNote[];
  /** package.json's engines.node against this machine's `node --version`; null without one. */
  node: NodeCheck | null;
  /** Whether the service and team were checked against the catalog (false: skipped, see the note). */
  catalogChecked: boolean;
}

/**
 * The team a catalog owner ref names, if it is a Group: `group:default/payments`,
 * `group:payments` and `payments` all give `payments`; a User or another namespace gives undefined.
 */
export function ownerTeam(owner: string): string | undefined {
  const match = /^(?:([^:/]+):)?(?:([^:/]+)\/)?([^:/]+)$/.exec(owner.trim().toLowerCase());
  if (!match) return undefined;
  const [, kind = 'group', namespace = 'default', name] = match;
  return kind === 'group' && namespace === 'default' ? name : undefined;
}

export interface Position {
  line: number;
  column: number;
}

/** What the catalog said about the file's service: absent, or present with this owner. */
export type CatalogFacts = { found: false } | { found: true; owner: string | undefined };

/**
 * Problems with the file's service and team against the catalog, placed on the fields' own
 * positions so they print like the schema's problems.
 */
export function catalogProblems(
  file: string,
  spec: DeclaredDeploySpec,
  facts: CatalogFacts,
  at: { name: Position; team: Position },
): DeployProblem[] {
  const { name, team } = spec.service;
  if (!facts.found) {
    return [
      {
        file,
        ...at.name,
        field: 'service.name',
        message: `"${name}" is not a Component in the catalog`,
        expected: 'the name of a catalog Component',
        hint: "Register the service's catalog-info.yaml (`idp catalog:register PATH`), or fix the name (`idp catalog:list --kind component`).",
      },
    ];
  }
  const owner = facts.owner ?? '';
  const ownerName = ownerTeam(owner);
  if (ownerName === team.toLowerCase()) return [];
  const problem: DeployProblem = {
    file,
    ...at.team,
    field: 'service.team',
    message: `"${team}" does not own ${name} in the catalog (its owner is ${owner === '' ? 'not set' : owner})`,
    expected: ownerName ? `${ownerName}, the owner in the catalog` : 'the Group that owns the service in the catalog',
    hint: `Set service.team to the owner shown by \`idp catalog:get ${name}\`, or change the owner in its catalog-info.yaml.`,
  };
  if (ownerName) problem.didYouMean = ownerName;
  return [problem];
}

/** Where a mapping value sits in a YAML text (1-based); the document's start when it is not there. */
export async function yamlPosition(text: string, path: readonly string[]): Promise<Position> {
  // Loaded on demand like in output.ts: most commands never read YAML.
  const { LineCounter, parseDocument, isNode } = await import('yaml');
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  const node = doc.getIn(path, true);
  const offset = isNode(node) && node.range ? node.range[0] : 0;
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}

/** The problems a server's DEPLOY_SPEC_INVALID error carries, when they have the expected shape. */
export function problemsOf(details: Record<string, unknown>): DeployProblem[] | undefined {
  const problems = details.problems;
  if (!Array.isArray(problems) || problems.length === 0) return undefined;
  const valid = problems.every((p: unknown) => {
    if (typeof p !== 'object' || p === null) return false;
    const r = p as Record<string, unknown>;
    return (
      typeof r.file === 'string' &&
      typeof r.line === 'number' &&
      typeof r.column === 'number' &&
      typeof r.field === 'string' &&
      typeof r.message === 'string' &&
      typeof r.expected === 'string'
    );
  });
  return valid ? (problems as DeployProblem[]) : undefined;
}

/** The tail of a failed build's output (DEPLOY_BUILD_FAILED), indented under a heading. */
export function buildOutputOf(details: Record<string, unknown>): string | undefined {
  const output = details.output;
  if (typeof output !== 'string' || output.trim() === '') return undefined;
  return `Build output (tail):\n${output
    .replace(/\s+$/, '')
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n')}`;
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
