import type { AccessRequest } from '@idp/contracts';
import { formatTime, type Field } from '../../output.ts';

/**
 * Shared table views of access requests for the access:* commands (not a command itself).
 * `user:default/alice` → `alice`, `group:default/payments` → `payments`: the default namespace says nothing.
 */
export function short(ref: string | null | undefined): string {
  if (!ref) return '-';
  return ref.replace(/^(user|group):default\//, '');
}

export function formatSeconds(seconds: number): string {
  for (const [unit, size] of [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (seconds >= size && seconds % size === 0) return `${seconds / size}${unit}`;
  }
  return `${seconds}s`;
}

/** What happens next, or what happened, in one line. */
export function outcome(r: AccessRequest): string {
  switch (r.status) {
    case 'approved':
      return r.autoApproved
        ? `approved at once by rule ${r.rule.join(', ')}; expires ${formatTime(r.expiresAt)}`
        : `approved by ${short(r.decidedBy)}; expires ${formatTime(r.expiresAt)}`;
    case 'pending':
      return `waiting for ${r.owner ? `a member of ${short(r.owner)}` : 'an approver'} or a platform admin, until ${formatTime(r.pendingUntil)}`;
    case 'denied':
      return `denied by ${short(r.decidedBy)}: ${r.decisionReason ?? ''}`;
    case 'revoked':
      return `revoked by ${short(r.revokedBy)} at ${formatTime(r.revokedAt)}`;
    case 'expired':
      return r.expiresAt ? `ended at ${formatTime(r.expiresAt)}` : `expired undecided at ${formatTime(r.pendingUntil)}`;
  }
}

export const REQUEST_FIELDS: Field<AccessRequest>[] = [
  { label: 'ID', value: (r) => r.id },
  { label: 'Status', value: (r) => r.status },
  { label: 'Secret', value: (r) => r.secret },
  { label: 'Requester', value: (r) => short(r.requester) },
  { label: 'Reason', value: (r) => r.reason },
  { label: 'Duration', value: (r) => formatSeconds(r.durationSeconds) },
  { label: 'Decided by', value: (r) => (r.autoApproved ? `rule ${r.rule.join(', ')}` : short(r.decidedBy)) },
  { label: 'Expires', value: (r) => formatTime(r.expiresAt) },
  {
    label: 'Approvers',
    value: (r) =>
      r.approvers.length ? `${r.approvers.map(short).join(', ')} (or a platform admin)` : 'a platform admin',
  },
  { label: 'Outcome', value: outcome },
];
