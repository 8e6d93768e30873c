import type { AccessRequest, AccessStatus } from '@idp/contracts';
import type { Decision } from '@idp/core';
import type { Directory } from '../../identity/index.ts';
import type { SecretScope } from '../secrets/resources.ts';
import type { Database } from '../../store/index.ts';

/** One access request as stored. */
export type RequestRow = Database['access_requests'];

/** The status as of `now`: an approved grant past its end, or a stale pending request, is expired. */
export function statusOf(row: RequestRow, now: string): AccessStatus {
  if (row.status === 'approved' && row.expires_at && row.expires_at <= now) return 'expired';
  if (row.status === 'pending' && row.pending_until && row.pending_until <= now) return 'expired';
  return row.status;
}

/** The request as the API answers it, with who may approve it. */
export function requestView(row: RequestRow, now: string, directory: Directory): AccessRequest {
  return {
    id: row.id,
    requester: row.requester,
    secret: row.pattern,
    env: row.env,
    service: row.service,
    owner: row.owner,
    reason: row.reason,
    durationSeconds: Number(row.duration_seconds),
    status: statusOf(row, now),
    autoApproved: Number(row.auto_approved) === 1,
    createdAt: row.created_at,
    pendingUntil: row.pending_until,
    decidedAt: row.decided_at,
    decidedBy: row.decided_by,
    rule: JSON.parse(row.rule) as string[],
    decisionReason: row.decision_reason,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
    revokedBy: row.revoked_by,
    approvers: row.owner
      ? directory
          .membersOf(row.owner)
          .map((m) => m.ref)
          .filter((r) => r !== row.requester)
      : [],
  };
}

export function scopeOfRow(row: RequestRow): SecretScope {
  return { env: row.env, service: row.service, key: row.key_pattern, path: row.pattern };
}

/** The rules an automatic approval names. */
export function ruleOf(d: Decision): string[] {
  // platform-admins-all matches every action; when a specific rule also matched, that is the one to name.
  const specific = d.permittedBy.filter((id) => id !== 'admins/platform-admins-all');
  return specific.length ? specific : d.permittedBy;
}
