import { z } from 'zod';

/**
 * Environments: base environments (staging, production) declared in the config, and the
 * self-service ones cloned from them with `idp env:create`. Nothing here carries a password:
 * only `EnvironmentConnection` (the answer of `POST /api/environments/:name/connect`, audited)
 * does.
 */

export const EnvironmentStatus = z.enum(['provisioning', 'ready', 'failed', 'deleting', 'deleted']);
export type EnvironmentStatus = z.infer<typeof EnvironmentStatus>;

export const StepStatus = z.enum(['pending', 'running', 'done', 'failed']);
export type StepStatus = z.infer<typeof StepStatus>;

export const EnvironmentStep = z
  .object({
    name: z
      .string()
      .describe('namespace | database | redis | secrets (create); the same with a `delete:` prefix when deleting'),
    status: StepStatus,
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    durationMs: z.number().int().nullable(),
    attempts: z.number().int().describe('How many times the step was started (more than 1 after a restart resumed it)'),
    detail: z.string().nullable().describe('What the step did, e.g. "cloned from staging snapshot of 12:03 (4m old)"'),
    error: z.string().nullable(),
  })
  .meta({ id: 'EnvironmentStep' });
export type EnvironmentStep = z.infer<typeof EnvironmentStep>;

export const EnvironmentResources = z
  .object({
    namespace: z.string().describe("The runtime namespace where the environment's services run"),
    database: z.string().nullable().describe('The PostgreSQL database (and its role of the same name)'),
    redis: z
      .string()
      .nullable()
      .describe(
        'The Redis keyspace: keys are prefixed with `<redis>:`, an ACL user of the same name is limited to them',
      ),
    secrets: z.string().describe('Where the secrets came from'),
  })
  .meta({ id: 'EnvironmentResources' });
export type EnvironmentResources = z.infer<typeof EnvironmentResources>;

/** How to reach the environment's stores, without the passwords (`idp env:connect` gives those). */
export const EnvironmentEndpoints = z
  .object({
    database: z.object({ host: z.string(), port: z.number().int(), database: z.string(), user: z.string() }).nullable(),
    redis: z
      .object({
        host: z.string(),
        port: z.number().int(),
        db: z.number().int(),
        user: z.string().nullable(),
        keyPrefix: z.string(),
      })
      .nullable(),
  })
  .meta({ id: 'EnvironmentEndpoints' });
export type EnvironmentEndpoints = z.infer<typeof EnvironmentEndpoints>;

export const SecretsMode = z
  .enum(['copy', 'placeholders'])
  .describe(
    "copy: the base's secrets, values included; placeholders: every secret name of the base with a placeholder value, never a byte of the base's",
  );
export type SecretsMode = z.infer<typeof SecretsMode>;

/** The pull request an environment previews. */
export const EnvironmentPreview = z
  .object({
    repo: z.string().describe('owner/name of the repository'),
    number: z.number().int().describe('The pull request number'),
  })
  .meta({ id: 'EnvironmentPreview' });
export type EnvironmentPreview = z.infer<typeof EnvironmentPreview>;

export const Environment = z
  .object({
    name: z.string(),
    kind: z
      .enum(['base', 'ephemeral'])
      .describe('base: declared in the config, never reaped or deleted through env:delete'),
    sourceEnv: z.string().nullable(),
    owner: z.string().nullable().describe("The owner's e-mail (or entity ref when the user has none)"),
    ownerRef: z.string().nullable(),
    team: z.string().nullable().describe("The owner's team when the environment was made"),
    tier: z.string().describe("production | staging | development; a clone has its source's tier"),
    status: EnvironmentStatus,
    ttl: z.string().nullable().describe('The lifetime asked for (7d); null for base environments'),
    createdAt: z.string(),
    readyAt: z.string().nullable(),
    expiresAt: z.string().nullable(),
    deletedAt: z.string().nullable(),
    provisioningMs: z.number().int().nullable().describe('From the request to ready'),
    resources: EnvironmentResources,
    endpoints: EnvironmentEndpoints,
    steps: z.array(EnvironmentStep),
    error: z.object({ step: z.string(), message: z.string() }).nullable().describe('Set when status is failed'),
    secrets: SecretsMode,
    preview: EnvironmentPreview.nullable().describe(
      "Set for a pull request's preview: owned by the repository's team, not counted in anyone's own environments",
    ),
  })
  .meta({ id: 'Environment' });
export type Environment = z.infer<typeof Environment>;

export const EnvironmentList = z.object({ items: z.array(Environment) }).meta({ id: 'EnvironmentList' });
export type EnvironmentList = z.infer<typeof EnvironmentList>;

export const CreateEnvironmentRequest = z
  .object({
    name: z.string().describe('A DNS-1123 label of at most 40 characters'),
    from: z.string().describe('The base environment to clone (staging)'),
    ttl: z.string().optional().describe('Lifetime such as 7d (default from the config; the policies set the maximum)'),
    secrets: SecretsMode.optional().describe(
      "copy (default): the base's secrets with their values; placeholders: the base's secret names only, each with the value `placeholder`",
    ),
  })
  .strict();
export type CreateEnvironmentRequest = z.infer<typeof CreateEnvironmentRequest>;

export const ExtendEnvironmentRequest = z
  .object({ ttl: z.string().describe('New lifetime counted from now, such as 3d') })
  .strict();
export type ExtendEnvironmentRequest = z.infer<typeof ExtendEnvironmentRequest>;

export const EnvironmentListQuery = z
  .object({
    scope: z.enum(['mine', 'all']).optional().describe('mine (default): yours; all: every environment you may see'),
    includeDeleted: z.enum(['true', 'false']).optional(),
  })
  .strict();
export type EnvironmentListQuery = z.infer<typeof EnvironmentListQuery>;

/** Carries passwords: printed by `idp env:connect` only, never logged. */
export const EnvironmentConnection = z
  .object({
    env: z.string(),
    variables: z.record(z.string(), z.string()).describe('DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX'),
  })
  .meta({ id: 'EnvironmentConnection' });
export type EnvironmentConnection = z.infer<typeof EnvironmentConnection>;
