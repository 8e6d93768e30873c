import { z } from 'zod';
import { parseDuration } from '../durations.ts';

/**
 * `.idp/deploy.yaml`: one strict, input-shaped zod schema is the source of truth for validation,
 * the editor JSON Schema and the "expected …" text of every problem. `DeploySpecSchema` adds the
 * normalisation (durations in seconds, error rate as a fraction, camelCase, defaults filled in).
 */

export const DEPLOY_STRATEGIES = ['canary', 'rolling', 'recreate'] as const;
export type DeployStrategy = (typeof DEPLOY_STRATEGIES)[number];

/** What a field means (JSON Schema description), what it accepts, and a default "Try this:" hint. */
interface FieldDoc {
  description: string;
  expected: string;
  hint?: string;
}

/** Keyed by dotted path with list indices written `[]`, the form `fieldPattern()` produces. */
export const DEPLOY_FIELD_DOCS: Readonly<Record<string, FieldDoc>> = {
  '': {
    description: 'How idp builds, runs and rolls out one service (.idp/deploy.yaml).',
    expected: 'a mapping with service and deploy (build and run optional)',
  },
  service: {
    description: 'The catalog Component this file deploys, and the team (Group) that owns it.',
    expected: 'a mapping {name, team}',
  },
  'service.name': {
    description: 'The Component name in the catalog (a DNS-1123 label).',
    expected: 'a DNS-1123 label such as payments-api',
    hint: 'Use lower-case letters, digits and dashes, starting with a letter; it must match the catalog Component.',
  },
  'service.team': {
    description: 'The owning Group in the catalog (a DNS-1123 label).',
    expected: 'a DNS-1123 label such as payments',
    hint: "Use the catalog Group name of the service's owner, e.g. payments.",
  },
  build: {
    description:
      'Runs once per release, in the unpacked release, before any replica starts. Optional: when `run.command` ' +
      'is left out too, it is inferred from package.json (npm ci --omit=dev with a lockfile, npm install --omit=dev ' +
      'without, npm ci && npm run build with a build script).',
    expected: 'a mapping {command}',
  },
  'build.command': {
    description: 'Shell command that prepares the release, e.g. `npm ci --omit=dev`.',
    expected: 'a non-empty command line',
  },
  run: {
    description:
      'How each replica of the service runs. Optional: without a command, idp infers it from the release, in ' +
      "this order: a Procfile's `web:` line, then package.json's scripts.start (`npm start`).",
    expected: 'a mapping {command, replicas}',
  },
  'run.command': {
    description:
      'Shell command that starts one replica; it must listen on the PORT environment variable. Inferred when ' +
      "left out (a Procfile's web: line, else `npm start` when package.json has scripts.start).",
    expected: 'a non-empty command line such as node server.js',
  },
  'run.replicas': {
    description: 'Number of processes to run. Default 2.',
    expected: 'an integer from 1 to 20',
  },
  metrics: {
    description:
      'Where Prometheus scrapes the metrics each replica exposes (Prometheus text format). idp stamps every ' +
      'series with the team, service, env, namespace and release labels; the service cannot set them itself. ' +
      'Optional: without it only the edge proxy counts the service.',
    expected: 'a mapping {path, port}',
    hint: 'For example: metrics: {path: /metrics}',
  },
  'metrics.path': {
    description: 'Path of the metrics page on the replica. Default /metrics.',
    expected: 'a URL path starting with /, such as /metrics',
  },
  'metrics.port': {
    description:
      "Port of the metrics page. Default: the replica's PORT (the one it serves requests on). Replicas share the " +
      "host's network, so a fixed port can only be held by one replica: it needs run.replicas: 1.",
    expected: 'an integer from 1 to 65535',
  },
  deploy: {
    description: 'How a new release replaces the running one.',
    expected: 'a mapping {strategy, canary, healthcheck, rollback}',
  },
  'deploy.strategy': {
    description:
      'canary shifts traffic step by step; rolling replaces replicas one by one behind health checks; ' +
      'recreate stops the old release, then starts the new one. Default: canary when `canary` steps ' +
      'are given, rolling otherwise.',
    expected: 'one of canary, rolling, recreate',
  },
  'deploy.canary': {
    description:
      'Canary steps, in order. Each sets the share of traffic on the new release, then waits `pause` ' +
      '(no pause: waits for `idp deploy:promote`). The last step must be weight 100, which promotes ' +
      'the new release. Required when strategy is canary, not allowed otherwise.',
    expected: 'a list of steps {weight, pause} with increasing weights ending at 100',
    hint: 'For example: canary: [{weight: 10, pause: 5m}, {weight: 100}]',
  },
  'deploy.canary[]': {
    description: 'One canary step.',
    expected: 'a mapping {weight, pause}',
    hint: 'Write each step as a mapping, e.g. "- weight: 10" with "pause: 5m" under it.',
  },
  'deploy.canary[].weight': {
    description: 'Percentage of requests sent to the new release during this step.',
    expected: 'an integer from 1 to 100, greater than the previous step',
  },
  'deploy.canary[].pause': {
    description:
      'How long the step lasts (30s, 5m, 2h, 7d). Without it the rollout waits for `idp deploy:promote`; ' +
      'on the final weight-100 step it holds full traffic on the new release before promoting.',
    expected: 'a duration such as 30s, 5m, 2h or 7d',
  },
  'deploy.healthcheck': {
    description: 'HTTP check run on every new replica; it gates traffic and fails the rollout.',
    expected: 'a mapping {path, interval, threshold}',
  },
  'deploy.healthcheck.path': {
    description: 'Path requested on each replica; any 2xx answer is healthy.',
    expected: 'a URL path starting with /, such as /health',
  },
  'deploy.healthcheck.interval': {
    description: 'Time between checks of one replica. Default 10s.',
    expected: 'a duration such as 10s or 1m',
  },
  'deploy.healthcheck.threshold': {
    description: 'Consecutive failed checks on one replica that fail the rollout. Default 3.',
    expected: 'an integer of at least 1',
  },
  'deploy.rollback': {
    description: 'Automatic rollback on the error rate of the new release. Default: auto, >1%, 20 requests.',
    expected: 'a mapping {auto, on_error_rate, min_requests}',
  },
  'deploy.rollback.auto': {
    description: 'Roll back by itself when the error rate is exceeded. Default true.',
    expected: 'true or false',
  },
  'deploy.rollback.on_error_rate': {
    description:
      'Fail the rollout when the share of 5xx answers of the new release during a step is above this. ' +
      'Quote it: YAML reads a bare > as a folded block. Default ">1%".',
    expected: 'a quoted threshold such as ">1%" or ">0.5%"',
  },
  'deploy.rollback.min_requests': {
    description:
      'Requests the new release must serve in a step before its error rate is judged; fewer is ' +
      'inconclusive, never a pass by itself. Default 20.',
    expected: 'an integer of at least 1',
  },
};

function documented<T extends z.ZodType>(field: string, schema: T): T {
  const doc = DEPLOY_FIELD_DOCS[field];
  if (!doc) throw new Error(`deploy.yaml field "${field}" has no documentation entry`);
  return schema.describe(doc.description);
}

// Same grammar as parseDuration; spelled out so the JSON Schema carries it as a `pattern`.
const DURATION_PATTERN = /^[1-9][0-9]{0,8}[smhd]$/;
const DNS_LABEL_PATTERN = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const ERROR_RATE_PATTERN = /^>\s*([0-9]{1,3}(?:\.[0-9]+)?)\s*%$/;

/** Replicas when deploy.yaml does not say: two, so one restarting never takes the service down. */
export const DEFAULT_REPLICAS = 2;

const dnsLabel = z
  .string()
  .max(63, { error: 'is longer than 63 characters' })
  .regex(DNS_LABEL_PATTERN, { error: 'is not a DNS-1123 label' });
const commandLine = z.string().regex(/\S/, { error: 'is empty' });
const duration = z.string().regex(DURATION_PATTERN, { error: 'is not a duration' });
const errorRate = z
  .string()
  .regex(ERROR_RATE_PATTERN, { error: 'is not an error-rate threshold' })
  .refine((text) => (parseErrorRate(text) ?? 0) < 1, {
    error: 'is 100% or more, so it can never be exceeded',
    params: { withValue: true },
  });

const canaryStep = documented(
  'deploy.canary[]',
  z.strictObject({
    weight: documented(
      'deploy.canary[].weight',
      z.int().min(1, { error: 'is below 1' }).max(100, { error: 'is above 100' }),
    ),
    pause: documented('deploy.canary[].pause', duration.optional()),
  }),
);

const canarySteps = z
  .array(canaryStep)
  .min(1, { error: 'has no steps' })
  .check(
    z.superRefine(
      (steps, ctx) => {
        // Runs even when a step failed its own checks, so every ordering problem shows at once;
        // hence the guard, as it can also see input that is not a list at all.
        if (!Array.isArray(steps)) return;
        let previous: number | undefined;
        steps.forEach((step: unknown, index) => {
          const weight = weightOf(step);
          if (weight === undefined) return;
          if (previous !== undefined && weight <= previous) {
            ctx.addIssue({
              code: 'custom',
              path: [index, 'weight'],
              message: `${weight} is not greater than the previous step's ${previous}`,
            });
          }
          previous = weight;
        });
        const last = weightOf(steps[steps.length - 1]);
        if (last !== undefined && last !== 100) {
          ctx.addIssue({
            code: 'custom',
            path: [steps.length - 1, 'weight'],
            message: `the last step is ${last}, so the new release would never be promoted`,
            params: { hint: 'End the steps with {weight: 100}.' },
          });
        }
      },
      { when: () => true },
    ),
  );

const deploySection = z
  .strictObject({
    strategy: documented('deploy.strategy', z.enum(DEPLOY_STRATEGIES).optional()),
    canary: documented('deploy.canary', canarySteps.optional()),
    healthcheck: documented(
      'deploy.healthcheck',
      z.strictObject({
        path: documented('deploy.healthcheck.path', z.string().regex(/^\/\S*$/, { error: 'does not start with /' })),
        interval: documented('deploy.healthcheck.interval', duration.default('10s')),
        threshold: documented('deploy.healthcheck.threshold', z.int().min(1, { error: 'is below 1' }).default(3)),
      }),
    ),
    rollback: documented(
      'deploy.rollback',
      z
        .strictObject({
          auto: documented('deploy.rollback.auto', z.boolean().default(true)),
          on_error_rate: documented('deploy.rollback.on_error_rate', errorRate.default('>1%')),
          min_requests: documented('deploy.rollback.min_requests', z.int().min(1, { error: 'is below 1' }).default(20)),
        })
        .optional(),
    ),
  })
  .check(
    z.superRefine(
      (section, ctx) => {
        if (typeof section !== 'object' || section === null || Array.isArray(section)) return;
        const strategy: unknown = section.strategy;
        const hasSteps = section.canary !== undefined;
        if (strategy === 'canary' && !hasSteps) {
          ctx.addIssue({
            code: 'custom',
            path: ['canary'],
            message: 'is required when strategy is canary',
            params: {
              at: ['deploy', 'strategy'],
              hint: 'Add steps, e.g. canary: [{weight: 10, pause: 5m}, {weight: 100}]',
            },
          });
        }
        if ((strategy === 'rolling' || strategy === 'recreate') && hasSteps) {
          ctx.addIssue({
            code: 'custom',
            path: ['canary'],
            message: `is not allowed with strategy ${strategy}`,
            params: { on: 'key', hint: 'Remove the canary steps, or set strategy: canary.' },
          });
        }
      },
      { when: () => true },
    ),
  );

/** The file as written: strict (unknown keys are errors), defaults declared, no normalisation. */
export const DeployFileSchema = documented(
  '',
  z
    .strictObject({
      service: documented(
        'service',
        z.strictObject({
          name: documented('service.name', dnsLabel),
          team: documented('service.team', dnsLabel),
        }),
      ),
      build: documented('build', z.strictObject({ command: documented('build.command', commandLine) }).optional()),
      run: documented(
        'run',
        z
          .strictObject({
            command: documented('run.command', commandLine.optional()),
            replicas: documented(
              'run.replicas',
              z.int().min(1, { error: 'is below 1' }).max(20, { error: 'is above 20' }).default(DEFAULT_REPLICAS),
            ),
          })
          .optional(),
      ),
      metrics: documented(
        'metrics',
        z
          .strictObject({
            path: documented(
              'metrics.path',
              z
                .string()
                .regex(/^\/\S*$/, { error: 'does not start with /' })
                .default('/metrics'),
            ),
            port: documented(
              'metrics.port',
              z.int().min(1, { error: 'is below 1' }).max(65535, { error: 'is above 65535' }).optional(),
            ),
          })
          .optional(),
      ),
      deploy: documented('deploy', deploySection),
    })
    .check(
      z.superRefine(
        (file, ctx) => {
          if (typeof file !== 'object' || file === null || Array.isArray(file)) return;
          const port: unknown = (file.metrics as { port?: unknown } | undefined)?.port;
          const replicas: unknown = (file.run as { replicas?: unknown } | undefined)?.replicas ?? DEFAULT_REPLICAS;
          if (typeof port === 'number' && typeof replicas === 'number' && replicas > 1) {
            ctx.addIssue({
              code: 'custom',
              path: ['metrics', 'port'],
              message: `is one port for ${replicas} replicas, which share the host's network: only one could listen on it`,
              params: { hint: 'Leave port out to scrape each replica on its PORT, or set run.replicas: 1.' },
            });
          }
        },
        { when: () => true },
      ),
    ),
);

/** The deploy.yaml as written (before defaults). */
export type DeployFile = z.input<typeof DeployFileSchema>;

export interface CanaryStep {
  /** Percent of requests on the new release during the step (1..100, strictly increasing, last 100). */
  weight: number;
  /** Step length in seconds; null waits for a manual promote (or, on the final 100 step, promotes at once). */
  pauseSeconds: number | null;
}

/**
 * A validated, normalised deploy.yaml with its run command known: declared in the file, or
 * inferred from the release's files (infer.ts). Durations in seconds, rates as fractions,
 * defaults filled in.
 */
export interface DeploySpec {
  service: { name: string; team: string };
  build: { command: string } | null;
  run: { command: string; replicas: number };
  /** deploy.yaml `metrics:` (port null: the replica's PORT); absent when the file has none. */
  metrics?: { path: string; port: number | null };
  deploy: {
    strategy: DeployStrategy;
    /** Empty unless strategy is canary. */
    canary: CanaryStep[];
    healthcheck: { path: string; intervalSeconds: number; threshold: number };
    rollback: {
      auto: boolean;
      /** `on_error_rate: ">1%"` → 0.01: the rollout fails when 5xx / requests is ABOVE this. */
      maxErrorRate: number;
      minRequests: number;
    };
  };
}

/**
 * The deploy.yaml as parsed, before inference: `run.command` is null when the file leaves it out
 * (`inferDeploySpec` fills it, and the build with it, from the release's files).
 */
export type DeclaredDeploySpec = Omit<DeploySpec, 'run'> & { run: { command: string | null; replicas: number } };

/** `">1%"` → 0.01, `"> 0.5 %"` → 0.005; anything else → undefined. */
export function parseErrorRate(text: string): number | undefined {
  const m = ERROR_RATE_PATTERN.exec(text.trim());
  if (!m) return undefined;
  // toPrecision drops binary noise (0.7 / 100 would otherwise be 0.006999999999999999).
  return Number((Number(m[1]) / 100).toPrecision(12));
}

type ParsedFile = z.output<typeof DeployFileSchema>;

function normalise(file: ParsedFile): DeclaredDeploySpec {
  const { deploy } = file;
  const strategy: DeployStrategy = deploy.strategy ?? (deploy.canary ? 'canary' : 'rolling');
  const rollback = deploy.rollback ?? { auto: true, on_error_rate: '>1%', min_requests: 20 };
  return {
    service: { name: file.service.name, team: file.service.team },
    build: file.build ? { command: file.build.command } : null,
    run: { command: file.run?.command ?? null, replicas: file.run?.replicas ?? DEFAULT_REPLICAS },
    ...(file.metrics ? { metrics: { path: file.metrics.path, port: file.metrics.port ?? null } } : {}),
    deploy: {
      strategy,
      canary: (deploy.canary ?? []).map((step, index) => ({
        weight: step.weight,
        pauseSeconds: step.pause === undefined ? null : parseDuration(step.pause, `deploy.canary[${index}].pause`),
      })),
      healthcheck: {
        path: deploy.healthcheck.path,
        intervalSeconds: parseDuration(deploy.healthcheck.interval, 'deploy.healthcheck.interval'),
        threshold: deploy.healthcheck.threshold,
      },
      rollback: {
        auto: rollback.auto,
        maxErrorRate: parseErrorRate(rollback.on_error_rate) as number,
        minRequests: rollback.min_requests,
      },
    },
  };
}

/** Validates a plain object (the YAML already turned into data) and normalises it. */
export const DeploySpecSchema = DeployFileSchema.transform(normalise);

/** JSON Schema (draft 2020-12) of the file as written, for editors (yaml-language-server, VS Code). */
export function deploySpecJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(DeployFileSchema, { target: 'draft-2020-12', io: 'input' }) as Record<
    string,
    unknown
  >;
  const properties = generated.properties as Record<string, Record<string, unknown>>;
  const deploy = properties.deploy as Record<string, unknown>;
  // zod refinements do not reach JSON Schema; restate the canary/strategy rule so editors flag it too.
  deploy.allOf = [
    {
      if: { properties: { strategy: { const: 'canary' } }, required: ['strategy'] },
      then: { required: ['canary'] },
    },
    {
      if: { properties: { strategy: { enum: ['rolling', 'recreate'] } }, required: ['strategy'] },
      then: { not: { required: ['canary'] } },
    },
  ];
  dropSafeIntegerBounds(generated);
  const { $schema, ...rest } = generated;
  return { $schema, title: 'idp .idp/deploy.yaml', ...rest };
}

// z.int() states ±MAX_SAFE_INTEGER as bounds; they are noise in an editor's tooltip.
function dropSafeIntegerBounds(node: unknown): void {
  if (typeof node !== 'object' || node === null) return;
  const record = node as Record<string, unknown>;
  if (record.maximum === Number.MAX_SAFE_INTEGER) delete record.maximum;
  if (record.minimum === Number.MIN_SAFE_INTEGER) delete record.minimum;
  for (const value of Object.values(record)) dropSafeIntegerBounds(value);
}

function weightOf(step: unknown): number | undefined {
  if (typeof step !== 'object' || step === null) return undefined;
  const weight = (step as { weight?: unknown }).weight;
  // A weight already reported as invalid is left out, so it cannot cause follow-on order problems.
  return typeof weight === 'number' && Number.isInteger(weight) && weight >= 1 && weight <= 100 ? weight : undefined;
}
