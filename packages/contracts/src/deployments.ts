import { z } from 'zod';

/**
 * Releases (immutable, content-addressed bundles of a service at a git commit) and deployments
 * (a release rolled out into an environment by a strategy, run by the control plane on the local
 * runtime with traffic through the edge proxy).
 */

export const ReleaseStatus = z.enum(['built', 'failed']);

export const InferredNote = z
  .object({
    field: z
      .enum(['run', 'build', 'node'])
      .describe('What was worked out: the run or build command, or the Node.js range'),
    value: z.string().describe('The command, or the engines.node range'),
    from: z.string().describe('Where it came from, e.g. `package.json scripts.start` or `package-lock.json`'),
  })
  .meta({ id: 'InferredNote' });
export type InferredNote = z.infer<typeof InferredNote>;

export const Release = z
  .object({
    version: z
      .string()
      .describe('<commit12>-<digest12>: the same bytes at the same commit always give the same version'),
    service: z.string(),
    commit: z.string(),
    digest: z.string().describe('sha256 of the uploaded archive'),
    sizeBytes: z.number().int(),
    status: ReleaseStatus,
    createdAt: z.string(),
    createdBy: z.string(),
    buildMs: z.number().int().nullable(),
    buildOutput: z.string().nullable().describe("The tail of the build command's output"),
    spec: z
      .record(z.string(), z.unknown())
      .describe("The release's .idp/deploy.yaml, normalised, with what was inferred filled in"),
    inferred: z
      .array(InferredNote)
      .describe(
        "What the control plane inferred from the release's files because deploy.yaml left it out (run, build), and package.json's engines.node",
      ),
  })
  .meta({ id: 'Release' });
export type Release = z.infer<typeof Release>;

export const DeploymentStatus = z.enum([
  'pending',
  'progressing',
  'paused',
  'healthy',
  'rolled_back',
  'aborted',
  'failed',
]);
export type DeploymentStatus = z.infer<typeof DeploymentStatus>;

export const DeploymentKind = z
  .enum(['deploy', 'rollback'])
  .describe(
    'deploy: a release rolled out (idp deploy); rollback: a return to an earlier healthy version (idp rollback)',
  );
export type DeploymentKind = z.infer<typeof DeploymentKind>;

export const DeploymentStep = z
  .object({
    index: z.number().int(),
    weight: z.number().int(),
    pauseSeconds: z.number().int().nullable(),
    outcome: z
      .string()
      .nullable()
      .describe(
        'passed | inconclusive | promoted | failed | aborted | skipped (first deploy, rollback); null while running',
      ),
    startedAt: z.string().nullable(),
    endedAt: z.string().nullable(),
    requests: z.number().int(),
    errors: z.number().int(),
    errorRate: z.number().nullable(),
    healthFailures: z.number().int().describe('The most consecutive failed health checks on any canary replica'),
  })
  .meta({ id: 'DeploymentStep' });
export type DeploymentStep = z.infer<typeof DeploymentStep>;

export const DeploymentLogTail = z
  .object({
    release: z.string().describe('The release version of the replica'),
    replica: z.number().int().describe('The replica, numbered from 1'),
    lines: z.array(z.string()).describe('Its last lines of output (at most 20), oldest first'),
  })
  .describe('The last log lines of the replica that failed the rollout (crash-looping, else not ready)');
export type DeploymentLogTail = z.infer<typeof DeploymentLogTail>;

export const Deployment = z
  .object({
    id: z.string(),
    service: z.string(),
    env: z.string(),
    namespace: z.string(),
    version: z.string(),
    previousVersion: z.string().nullable(),
    strategy: z.string(),
    status: DeploymentStatus,
    reason: z.string().nullable(),
    kind: DeploymentKind,
    step: z.number().int().nullable().describe('The current canary step (0-based: steps[step]; shown 1-based)'),
    weight: z.number().int().describe('Share of traffic (%) the new version gets now'),
    createdAt: z.string(),
    createdBy: z.string(),
    finishedAt: z.string().nullable(),
    url: z.string().describe('Where the service answers through the edge proxy'),
    steps: z.array(DeploymentStep),
    figures: z
      .record(z.string(), z.unknown())
      .nullable()
      .describe(
        'What was measured when it failed or was rolled back; step and replica are numbered from 1, as in the reason',
      ),
    logTail: DeploymentLogTail.nullable()
      .optional()
      .describe('When it failed or was rolled back: the last log lines of the failing replica of the new release'),
  })
  .meta({ id: 'Deployment' });
export type Deployment = z.infer<typeof Deployment>;

export const DeploymentList = z.object({ items: z.array(Deployment) }).meta({ id: 'DeploymentList' });
export type DeploymentList = z.infer<typeof DeploymentList>;

export const CreateDeploymentRequest = z
  .object({
    service: z.string(),
    env: z.string(),
    version: z.string().describe('A release version (from POST /api/releases)'),
  })
  .strict();
export type CreateDeploymentRequest = z.infer<typeof CreateDeploymentRequest>;

export const RollbackRequest = z
  .object({
    service: z.string(),
    env: z.string(),
    to: z
      .string()
      .optional()
      .describe('A version that was healthy here before; default the last one before the current'),
  })
  .strict();
export type RollbackRequest = z.infer<typeof RollbackRequest>;

export const DeploymentListQuery = z
  .object({
    service: z.string().optional(),
    env: z.string().optional(),
    limit: z.coerce.number().int().min(1).max(200).default(20),
  })
  .strict();

export const UndeployRequest = z
  .object({
    service: z.string(),
    env: z.string(),
  })
  .strict();
export type UndeployRequest = z.infer<typeof UndeployRequest>;

export const UndeployResult = z
  .object({
    service: z.string(),
    env: z.string(),
    namespace: z.string(),
    stopped: z
      .boolean()
      .describe(
        'true: its replicas were stopped and its route removed; false: it was not deployed there (nothing to do)',
      ),
    version: z.string().nullable().describe('The version that was serving, when one was'),
    deploymentId: z.string().nullable().describe('The deployment that had made that version current'),
    replicas: z.number().int().describe('Replicas stopped'),
  })
  .meta({ id: 'UndeployResult' });
export type UndeployResult = z.infer<typeof UndeployResult>;
