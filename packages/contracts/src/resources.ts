import { z } from 'zod';

/** The error envelope every non-2xx API response carries. */
export const ErrorEnvelope = z
  .object({
    error: z.object({
      code: z.string().describe('Stable UPPER_SNAKE code, documented in docs/errors.md'),
      message: z.string(),
      details: z.record(z.string(), z.unknown()),
      requestId: z.string().optional(),
    }),
  })
  .meta({ id: 'Error' });

export const Duration = z
  .string()
  .regex(/^[1-9][0-9]*(s|m|h|d)$/, 'a duration such as 30s, 5m, 2h or 7d')
  .describe('A duration: <number><s|m|h|d>');

export const Timestamp = z.string().describe('ISO-8601 time in UTC');

export const Principal = z
  .object({
    ref: z.string().describe('Backstage entity ref of the user, e.g. user:default/alice'),
    name: z.string(),
    email: z.string().nullable(),
    displayName: z.string().nullable(),
    teams: z.array(z.string()).describe('Groups the user belongs to, parents included'),
    roles: z.array(z.enum(['admin', 'member'])),
    tokenId: z.string().nullable().describe('Id of the API token in use; null for the bootstrap admin token'),
  })
  .meta({ id: 'Principal' });
export type Principal = z.infer<typeof Principal>;

export const Token = z
  .object({
    id: z.string(),
    user: z.string().describe('Entity ref of the user the token acts as'),
    description: z.string().nullable(),
    createdAt: Timestamp,
    createdBy: z.string(),
    expiresAt: Timestamp.nullable(),
    revokedAt: Timestamp.nullable(),
    lastUsedAt: Timestamp.nullable(),
    status: z.enum(['active', 'expired', 'revoked']),
  })
  .meta({ id: 'Token' });
export type Token = z.infer<typeof Token>;

export const CreateTokenRequest = z
  .object({
    user: z.string().min(1).describe("The user's email or entity ref (alice@company.com, user:default/alice)"),
    ttl: Duration.optional().describe('Lifetime; default 30d'),
    description: z.string().max(200).optional(),
  })
  .strict();
export type CreateTokenRequest = z.infer<typeof CreateTokenRequest>;

export const CreatedToken = Token.extend({
  token: z.string().describe('The secret token; shown once, stored only as a hash'),
}).meta({ id: 'CreatedToken' });
export type CreatedToken = z.infer<typeof CreatedToken>;

export const TokenList = z.object({ items: z.array(Token) });
export type TokenList = z.infer<typeof TokenList>;

export const AuditDecision = z.enum(['allow', 'deny', 'error']);

export const AuditRecord = z
  .object({
    seq: z.number().int(),
    time: Timestamp,
    actor: z.string(),
    action: z.string(),
    target: z.string(),
    decision: AuditDecision,
    policyIds: z.array(z.string()),
    requestId: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    hash: z.string(),
  })
  .meta({ id: 'AuditRecord' });
export type AuditRecord = z.infer<typeof AuditRecord>;

export const AuditQuery = z
  .object({
    actor: z.string().optional().describe('Entity ref or email of the actor'),
    action: z.string().optional().describe('Action, e.g. token:create; a trailing * matches a prefix'),
    decision: AuditDecision.optional(),
    since: Duration.optional().describe('Only records newer than this, e.g. 1h'),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();
export type AuditQuery = z.infer<typeof AuditQuery>;

export const AuditList = z.object({ items: z.array(AuditRecord) });
export type AuditList = z.infer<typeof AuditList>;

export const AuditVerification = z
  .object({
    ok: z.boolean(),
    records: z.number().int().describe('Records checked'),
    headSeq: z.number().int().nullable(),
    firstBadSeq: z.number().int().nullable(),
    problem: z.string().nullable(),
    keyed: z.boolean().describe('true when records are HMAC-SHA256 under the audit key (from keyedFromSeq on)'),
    keyedFromSeq: z
      .number()
      .int()
      .nullable()
      .describe('The first keyed record; earlier ones are plain SHA-256 from before the upgrade'),
    keyId: z.string().nullable().describe("The audit key's fingerprint (not the key)"),
  })
  .meta({ id: 'AuditVerification' });
export type AuditVerification = z.infer<typeof AuditVerification>;

export const PolicyCheckRequest = z
  .object({
    principal: z.string().min(1).describe('user:alice@company.com, user:default/alice or alice@company.com'),
    action: z.string().min(1).describe('An action such as env:create'),
    resource: z.string().min(1).describe('<type>:<id>, e.g. environment:staging, service:payments-api, platform:idp'),
    context: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();
export type PolicyCheckRequest = z.infer<typeof PolicyCheckRequest>;

export const PolicyDecision = z
  .object({
    decision: z.enum(['allow', 'deny']),
    principal: z.string(),
    action: z.string(),
    resource: z.string(),
    permittedBy: z.array(z.string()).describe('Ids of the permit policies that matched'),
    forbiddenBy: z.array(z.string()).describe('Ids of the forbid policies that matched'),
    reason: z.string(),
    errors: z.array(z.string()),
  })
  .meta({ id: 'PolicyDecision' });
export type PolicyDecision = z.infer<typeof PolicyDecision>;

export const Health = z.object({ status: z.literal('ok') });
export type Health = z.infer<typeof Health>;
export const Readiness = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.record(z.string(), z.object({ ok: z.boolean(), message: z.string().optional() })),
});
export type Readiness = z.infer<typeof Readiness>;
