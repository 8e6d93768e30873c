import type { AccessRequest } from '@idp/contracts';
import { formatDuration } from '@idp/core/durations';
import { displayRef } from '@idp/core/refs';
import { formatTime, type Field } from '../../output.ts';

/** Shared table views of access requests for the access:* commands (not a command itself). */

/** What happens next, or what happened, in one line. */
export function outcome(r: AccessRequest): string {
  switch (r.status) {
    case 'approved':
      return r.autoApproved
        ? `approved at once by rule ${r.rule.join(', ')}; expires ${formatTime(r.expiresAt)}`
        : `approved by ${displayRef(r.decidedBy)}; expires ${formatTime(r.expiresAt)}`;
    case 'pending':
      return `waiting for ${r.owner ? `a member of ${displayRef(r.owner)}` : 'an approver'} or a platform admin, until ${formatTime(r.pendingUntil)}`;
    case 'denied':
      return `denied by ${displayRef(r.decidedBy)}: ${r.decisionReason ?? ''}`;
    case 'revoked':
      return `revoked by ${displayRef(r.revokedBy)} at ${formatTime(r.revokedAt)}`;
    case 'expired':
      return r.expiresAt ? `ended at ${formatTime(r.expiresAt)}` : `expired undecided at ${formatTime(r.pendingUntil)}`;
  }
}

export const REQUEST_FIELDS: Field<AccessRequest>[] = [
  { label: 'ID', value: (r) => r.id },
  { label: 'Status', value: (r) => r.status },
  { label: 'Secret', value: (r) => r.secret },
  { label: 'Requester', value: (r) => displayRef(r.requester) },
  { label: 'Reason', value: (r) => r.reason },
  { label: 'Duration', value: (r) => formatDuration(r.durationSeconds) },
  { label: 'Decided by', value: (r) => (r.autoApproved ? `rule ${r.rule.join(', ')}` : displayRef(r.decidedBy)) },
  { label: 'Expires', value: (r) => formatTime(r.expiresAt) },
  {
    label: 'Approvers',
    value: (r) =>
      r.approvers.length ? `${r.approvers.map(displayRef).join(', ')} (or a platform admin)` : 'a platform admin',
  },
  { label: 'Outcome', value: outcome },
];
