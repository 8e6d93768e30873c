import { IdpError, type Environment, type EnvironmentStep } from '@idp/contracts';
import { formatAge } from '@idp/core/durations';
import { formatCell, formatTime } from './output.ts';

/**
 * What the env:* commands print. The API speaks camelCase; the command line shows the fields
 * the way the environments issue names them (`source_env`, `created_at`, `provisioning_time`),
 * and json/yaml print this same view, so a script reads the fields a person sees.
 * Pure functions of the API objects (and `now`), tested without a server.
 */

export interface EnvironmentStepView {
  name: string;
  status: EnvironmentStep['status'];
  /** `1.2s`; null until the step has finished. */
  duration: string | null;
  duration_ms: number | null;
  attempts: number;
  started_at: string | null;
  finished_at: string | null;
  detail: string | null;
  error: string | null;
}

export interface EnvironmentView {
  name: string;
  source_env: string | null;
  owner: string | null;
  ttl: string | null;
  resources: {
    namespace: string;
    database: string | null;
    redis: string | null;
    secrets: string;
  };
  status: Environment['status'];
  created_at: string;
  expires_at: string | null;
  /** From the request to ready, e.g. `3.4s`; null until ready. */
  provisioning_time: string | null;
  kind: Environment['kind'];
  tier: string;
  team: string | null;
  ready_at: string | null;
  deleted_at: string | null;
  /** How to reach the stores, without passwords (`idp env:connect` prints those). */
  endpoints: Environment['endpoints'];
  error: Environment['error'];
  steps: EnvironmentStepView[];
  /** copy: the base's secrets; placeholders: its secret names with placeholder values. */
  secrets: Environment['secrets'];
  /** The pull request a preview environment was made for; null for others. */
  preview: Environment['preview'];
}

export const ENVIRONMENT_VIEW_FIELDS = [
  'name',
  'source_env',
  'owner',
  'ttl',
  'resources',
  'status',
  'created_at',
  'expires_at',
  'provisioning_time',
  'kind',
  'tier',
  'team',
  'ready_at',
  'deleted_at',
  'endpoints',
  'error',
  'steps',
  'secrets',
  'preview',
] as const satisfies ReadonlyArray<keyof EnvironmentView>;

export function environmentView(env: Environment): EnvironmentView {
  return {
    name: env.name,
    source_env: env.sourceEnv,
    owner: env.owner,
    ttl: env.ttl,
    resources: {
      namespace: env.resources.namespace,
      database: env.resources.database,
      redis: env.resources.redis,
      secrets: env.resources.secrets,
    },
    status: env.status,
    created_at: env.createdAt,
    expires_at: env.expiresAt,
    provisioning_time: env.provisioningMs === null ? null : formatElapsed(env.provisioningMs),
    kind: env.kind,
    tier: env.tier,
    team: env.team,
    ready_at: env.readyAt,
    deleted_at: env.deletedAt,
    endpoints: env.endpoints,
    error: env.error,
    steps: env.steps.map(stepView),
    secrets: env.secrets,
    preview: env.preview,
  };
}

export function stepView(step: EnvironmentStep): EnvironmentStepView {
  return {
    name: step.name,
    status: step.status,
    duration: step.durationMs === null ? null : formatElapsed(step.durationMs),
    duration_ms: step.durationMs,
    attempts: step.attempts,
    started_at: step.startedAt,
    finished_at: step.finishedAt,
    detail: step.detail,
    error: step.error,
  };
}

/** `0.4s`, `3.4s`, `59.9s`: tenths while they still mean something; from a minute on, core's {@link formatAge} (`1m5s`, `1h2m`). */
export function formatElapsed(ms: number): string {
  if (ms < 60_000) return `${(Math.max(0, ms) / 1000).toFixed(1)}s`;
  return formatAge(ms);
}

export function ageOf(env: Environment, now: number): string {
  return formatAge(now - Date.parse(env.createdAt));
}

/** `in 6d`, `expired`, `-` for environments that never expire, `deleted` for those already gone (their TTL no longer applies). */
export function expiresIn(env: Environment, now: number): string {
  if (env.status === 'deleted' || env.deletedAt) return 'deleted';
  if (!env.expiresAt) return '-';
  const left = Date.parse(env.expiresAt) - now;
  return left > 0 ? `in ${formatAge(left)}` : 'expired';
}

/** `acme/payments#12` for a pull request's preview, `-` for other environments. */
export function pullRequestOf(env: Environment): string {
  return env.preview ? `${env.preview.repo}#${env.preview.number}` : '-';
}

/** `postgres://user@host:port/db`: no password, by construction. */
export function databaseEndpoint(endpoints: Environment['endpoints']): string | null {
  const db = endpoints.database;
  if (!db) return null;
  return `postgres://${encodeURIComponent(db.user)}@${hostPort(db.host, db.port)}/${encodeURIComponent(db.database)}`;
}

/** `redis://user@host:port/db (keys prefix:*)`: no password, by construction. */
export function redisEndpoint(endpoints: Environment['endpoints']): string | null {
  const redis = endpoints.redis;
  if (!redis) return null;
  const user = redis.user ? `${encodeURIComponent(redis.user)}@` : '';
  return `redis://${user}${hostPort(redis.host, redis.port)}/${redis.db} (keys ${redis.keyPrefix}*)`;
}

function hostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** The mark, name, time and what happened, e.g. `✓ database  1.2s  cloned from staging snapshot`. */
export function formatStepLine(step: EnvironmentStep, nameWidth: number): string {
  const mark = STEP_MARKS[step.status];
  const time = step.durationMs === null ? '' : formatElapsed(step.durationMs);
  const retried = step.attempts > 1 ? ` (attempt ${step.attempts})` : '';
  const what =
    step.status === 'failed' ? (step.error ?? 'failed') : (step.detail ?? (step.status === 'done' ? '' : step.status));
  return `${mark} ${step.name.padEnd(nameWidth)}  ${time.padStart(6)}  ${oneLine(what)}${retried}`.trimEnd();
}

const STEP_MARKS: Record<EnvironmentStep['status'], string> = { done: '✓', failed: '✗', running: '…', pending: '·' };

/**
 * Prints each step once, when it has finished (done or failed), in the order the server lists
 * them; `include` picks the steps of one phase (create or delete).
 */
export class StepReporter {
  readonly #printed = new Set<string>();
  constructor(
    private readonly write: (line: string) => void,
    private readonly include: (step: EnvironmentStep) => boolean = () => true,
  ) {}

  update(env: Environment): void {
    const steps = env.steps.filter(this.include);
    const width = Math.max(0, ...steps.map((s) => s.name.length));
    for (const step of steps) {
      if (step.status !== 'done' && step.status !== 'failed') continue;
      const key = `${step.name}\u0000${step.status}\u0000${step.attempts}`;
      if (this.#printed.has(key)) continue;
      this.#printed.add(key);
      this.write(formatStepLine(step, width));
    }
  }
}

export const isDeleteStep = (step: EnvironmentStep): boolean => step.name.startsWith('delete:');

/**
 * The default (`--output table`) view: YAML-like `key: value` lines in the order of the
 * issue's example. `detailed` (env:get) adds the age, endpoints, error and steps.
 */
export function formatEnvironment(env: Environment, opts: { detailed?: boolean; now?: number } = {}): string {
  const view = environmentView(env);
  const lines = [
    `name: ${view.name}`,
    `source_env: ${text(view.source_env)}`,
    `owner: ${text(view.owner)}`,
    `ttl: ${text(view.ttl)}`,
    'resources:',
    `  namespace: ${text(view.resources.namespace)}`,
    `  database: ${text(view.resources.database)}`,
    `  redis: ${text(view.resources.redis)}`,
    `  secrets: ${text(view.resources.secrets)}`,
    `status: ${view.status}`,
    `created_at: ${formatTime(view.created_at)}`,
    `expires_at: ${formatTime(view.expires_at)}`,
    `provisioning_time: ${text(view.provisioning_time)}`,
  ];
  if (view.kind === 'base') lines.splice(1, 0, 'kind: base');
  if (view.preview) lines.push(`preview: ${pullRequestOf(env)}`);
  if (view.secrets === 'placeholders')
    lines.push("secrets_mode: placeholders (the base's secret names, none of its values)");
  if (view.deleted_at) lines.push(`deleted_at: ${formatTime(view.deleted_at)}`);
  if (view.error) lines.push(`error: ${oneLine(`${view.error.step}: ${view.error.message}`)}`);
  if (opts.detailed) {
    lines.push(`age: ${ageOf(env, opts.now ?? Date.now())}`);
    lines.push(
      'endpoints:',
      `  database: ${text(databaseEndpoint(env.endpoints))}`,
      `  redis: ${text(redisEndpoint(env.endpoints))}`,
    );
    if (env.steps.length > 0) {
      const width = Math.max(...env.steps.map((s) => s.name.length));
      lines.push('steps:', ...env.steps.map((s) => `  ${formatStepLine(s, width)}`));
    }
  }
  return `${lines.join('\n')}\n`;
}

/** A watched environment that ended failed: exit 1 with the step and the server's message. */
export function environmentFailed(env: Environment, doing: 'provisioning' | 'deleting'): IdpError {
  const where = env.error ? ` at step ${env.error.step}: ${oneLine(env.error.message)}` : '';
  return new IdpError('ENV_NOT_READY', `environment ${env.name} failed while ${doing}${where}`, {
    env: env.name,
    status: env.status,
    ...(env.error ? { step: env.error.step } : {}),
    hint:
      doing === 'provisioning'
        ? `See every step with \`idp env:get ${env.name}\`; \`idp env:delete ${env.name}\` removes whatever was made.`
        : `See every step with \`idp env:get ${env.name}\`; run \`idp env:delete ${env.name}\` again once the cause is fixed.`,
  });
}

/** `export NAME='value'` per variable; a `'` inside a value becomes `'\''`, the POSIX way. */
export function exportLines(variables: Record<string, string>): string {
  return Object.entries(variables)
    .map(([name, value]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
        throw new IdpError(
          'INTERNAL',
          `the server sent a variable name that is not a shell name: "${name.slice(0, 80)}"`,
        );
      }
      return `export ${name}=${shellQuote(value)}\n`;
    })
    .join('');
}

export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

function text(value: string | null | undefined): string {
  return formatCell(value);
}

function oneLine(value: string): string {
  return value.replace(/\s*\n\s*/g, ' ');
}
