import { z } from 'zod';

/**
 * Secrets (`<env>/<service>/<KEY>`, versioned, encrypted at rest) and access requests (grants
 * that end by themselves). No schema here carries a secret value except SetSecretRequest (in)
 * and SecretValue (out of `GET /api/secrets/…`): everything else is safe to log and to print.
 */

export const SecretMeta = z
  .object({
    path: z.string().describe('<env>/<service>/<KEY>'),
    env: z.string(),
    service: z.string(),
    key: z.string(),
    version: z.number().int().describe('The current version (1, 2, …)'),
    createdAt: z.string(),
    createdBy: z.string(),
    updatedAt: z.string(),
    updatedBy: z.string().describe('Who wrote the current version'),
  })
  .meta({ id: 'SecretMeta' });
export type SecretMeta = z.infer<typeof SecretMeta>;

export const SecretList = z.object({ items: z.array(SecretMeta) }).meta({ id: 'SecretList' });
export type SecretList = z.infer<typeof SecretList>;

export const SetSecretRequest = z
  .object({
    value: z
      .string()
      .min(1, 'the value is empty')
      .max(65_536, 'the value is larger than 64 KiB')
      .describe('The secret value (UTF-8 text)'),
  })
  .strict();
export type SetSecretRequest = z.infer<typeof SetSecretRequest>;

export const SecretValue = SecretMeta.omit({ updatedAt: true, updatedBy: true })
  .extend({
    value: z.string(),
    versionCreatedAt: z.string(),
    versionCreatedBy: z.string(),
    grant: z.string().nullable().describe('The access grant that allowed this read, when one was needed'),
  })
  .meta({ id: 'SecretValue' });
export type SecretValue = z.infer<typeof SecretValue>;

export const SecretVersion = z
  .object({
    version: z.number().int(),
    createdAt: z.string(),
    createdBy: z.string(),
    current: z.boolean(),
  })
  .meta({ id: 'SecretVersion' });
export type SecretVersion = z.infer<typeof SecretVersion>;

export const SecretVersionList = z
  .object({
    path: z.string(),
    deletedAt: z.string().nullable().describe('Set when the secret was deleted; its versions are kept'),
    items: z.array(SecretVersion),
  })
  .meta({ id: 'SecretVersionList' });
export type SecretVersionList = z.infer<typeof SecretVersionList>;

export const SecretListQuery = z
  .object({
    env: z.string().optional(),
    service: z.string().optional(),
  })
  .strict();
export type SecretListQuery = z.infer<typeof SecretListQuery>;

export const CreateWorkloadTokenRequest = z
  .object({
    env: z.string().min(1),
    service: z.string().min(1),
    ttl: z.string().optional().describe('Lifetime such as 1h (default)'),
  })
  .strict();
export type CreateWorkloadTokenRequest = z.infer<typeof CreateWorkloadTokenRequest>;

export const WorkloadToken = z
  .object({
    id: z.string(),
    token: z.string().describe('Send as X-Vault-Token to /v1/secret/data/<env>/<service>; shown once'),
    env: z.string(),
    service: z.string(),
    createdAt: z.string(),
    createdBy: z.string(),
    expiresAt: z.string(),
    grant: z.string().nullable().describe('The access grant the token is bound to (production); it ends with it'),
  })
  .meta({ id: 'WorkloadToken' });
export type WorkloadToken = z.infer<typeof WorkloadToken>;

export const WorkloadTokenStatus = z.enum(['active', 'expired', 'revoked']);
export type WorkloadTokenStatus = z.infer<typeof WorkloadTokenStatus>;

/** A workload token as listed: never the token itself (only its hash is stored). */
export const WorkloadTokenInfo = z
  .object({
    id: z.string(),
    env: z.string(),
    service: z.string(),
    status: WorkloadTokenStatus,
    createdAt: z.string(),
    createdBy: z.string(),
    expiresAt: z.string(),
    revokedAt: z.string().nullable(),
    revokedBy: z
      .string()
      .nullable()
      .describe('Who revoked it; system:access-lost when its creator lost access to the secrets'),
    lastUsedAt: z.string().nullable().describe('The last Vault read that it served'),
    grant: z.string().nullable().describe('The access grant the token is bound to (production); it ends with it'),
  })
  .meta({ id: 'WorkloadTokenInfo' });
export type WorkloadTokenInfo = z.infer<typeof WorkloadTokenInfo>;

export const WorkloadTokenList = z.object({ items: z.array(WorkloadTokenInfo) }).meta({ id: 'WorkloadTokenList' });
export type WorkloadTokenList = z.infer<typeof WorkloadTokenList>;

export const WorkloadTokenListQuery = z
  .object({
    env: z.string().optional().describe('Only tokens of this environment'),
    service: z.string().optional().describe('Only tokens of this service'),
  })
  .strict();
export type WorkloadTokenListQuery = z.infer<typeof WorkloadTokenListQuery>;

export const AccessStatus = z.enum(['pending', 'approved', 'denied', 'expired', 'revoked']);
export type AccessStatus = z.infer<typeof AccessStatus>;

export const CreateAccessRequest = z
  .object({
    secret: z
      .string()
      .min(1)
      .describe('A secret path or pattern: production/payments-api/STRIPE_KEY, production/payments-api/*'),
    reason: z.string().trim().min(1, 'a reason is required').max(500),
    duration: z
      .string()
      .optional()
      .describe('How long the grant lasts, e.g. 2h (default 1h); the policies set the maximum'),
  })
  .strict();
export type CreateAccessRequest = z.infer<typeof CreateAccessRequest>;

export const AccessRequest = z
  .object({
    id: z.string(),
    requester: z.string(),
    secret: z.string().describe('The path or pattern asked for'),
    env: z.string(),
    service: z.string(),
    owner: z.string().nullable().describe('The owning team (Group ref) at request time'),
    reason: z.string(),
    durationSeconds: z.number().int(),
    status: AccessStatus,
    autoApproved: z.boolean(),
    createdAt: z.string(),
    pendingUntil: z.string().nullable().describe('A pending request expires if nobody decides by then'),
    decidedAt: z.string().nullable(),
    decidedBy: z.string().nullable().describe('A user, or policy:<id> when a rule approved it'),
    rule: z
      .array(z.string())
      .describe('The policies that approved it (auto-approval), or that let the approver decide'),
    decisionReason: z.string().nullable(),
    expiresAt: z.string().nullable().describe('When the grant ends'),
    revokedAt: z.string().nullable(),
    revokedBy: z.string().nullable(),
    approvers: z.array(z.string()).describe('Who may approve or deny (users)'),
  })
  .meta({ id: 'AccessRequest' });
export type AccessRequest = z.infer<typeof AccessRequest>;

export const AccessRequestList = z.object({ items: z.array(AccessRequest) }).meta({ id: 'AccessRequestList' });
export type AccessRequestList = z.infer<typeof AccessRequestList>;

export const AccessListQuery = z
  .object({
    pending: z.enum(['true', 'false']).optional().describe('Only pending requests'),
    mine: z.enum(['true', 'false']).optional().describe('Only your own requests'),
    toReview: z.enum(['true', 'false']).optional().describe('Pending requests of others that you may approve'),
    limit: z.coerce.number().int().min(1).max(1000).default(200),
  })
  .strict();
export type AccessListQuery = z.infer<typeof AccessListQuery>;

export const ApproveAccessRequest = z
  .object({
    duration: z.string().optional().describe('Grant a different (e.g. shorter) window than asked'),
    reason: z.string().max(500).optional(),
  })
  .strict();
export type ApproveAccessRequest = z.infer<typeof ApproveAccessRequest>;

export const DenyAccessRequest = z
  .object({ reason: z.string().trim().min(1, 'a reason is required').max(500) })
  .strict();
export type DenyAccessRequest = z.infer<typeof DenyAccessRequest>;

export const RevokeAccessRequest = z.object({ reason: z.string().max(500).optional() }).strict();
export type RevokeAccessRequest = z.infer<typeof RevokeAccessRequest>;

const Percentiles = z.object({
  count: z.number().int(),
  medianSeconds: z.number().nullable(),
  p90Seconds: z.number().nullable(),
});

export const AccessStats = z
  .object({
    since: z.string().nullable(),
    total: z.number().int(),
    byOutcome: z.record(AccessStatus, z.number().int()).describe('Requests by current status'),
    autoApproved: z.number().int(),
    autoApprovedShare: z.number().nullable().describe('Auto-approved / decided (0…1)'),
    decisionTime: Percentiles.describe('Request → decision, every decided request (auto-approvals count as 0 s)'),
    manualDecisionTime: Percentiles.describe('Request → decision, decisions made by a person'),
  })
  .meta({ id: 'AccessStats' });
export type AccessStats = z.infer<typeof AccessStats>;

export const AccessStatsQuery = z
  .object({ since: z.string().optional().describe('Only requests made within this long, e.g. 30d') })
  .strict();
