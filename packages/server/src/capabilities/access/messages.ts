import type { AccessRequest } from '@idp/contracts';
import { formatDuration } from '@idp/core';
import type { Directory } from '../../identity/index.ts';
import type { WebhookMessage } from './notifier.ts';

function who(ref: string, directory: Directory): string {
  return directory.users.get(ref)?.email ?? ref;
}

/** To the approvers: who asks for what, why, and the commands that decide it. */
export function pendingMessage(r: AccessRequest, directory: Directory): WebhookMessage {
  const team = r.owner ? r.owner.replace(/^group:(default\/)?/, '') : 'the platform admins';
  const text =
    `Access request ${r.id}: ${who(r.requester, directory)} asks to read ${r.secret} for ${formatDuration(r.durationSeconds)}. Reason: ${r.reason}. ` +
    `Approvers: ${team}. Approve with \`idp access:approve ${r.id}\` or deny with \`idp access:deny ${r.id} --reason "…"\`.`;
  return {
    text,
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `*Access request* \`${r.id}\`\n*${who(r.requester, directory)}* asks to read \`${r.secret}\` for *${formatDuration(r.durationSeconds)}*\n>${r.reason}`,
        },
      },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `Approvers: ${team}${r.approvers.length ? ` (${r.approvers.map((a) => who(a, directory)).join(', ')})` : ''} · expires unless decided by ${r.pendingUntil}`,
          },
        ],
      },
      {
        type: 'section',
        text: { type: 'mrkdwn', text: `\`idp access:approve ${r.id}\` · \`idp access:deny ${r.id} --reason "…"\`` },
      },
    ],
  };
}

/** To the same channel: how a request was decided. */
export function decisionMessage(r: AccessRequest, outcome: 'approved' | 'denied'): WebhookMessage {
  const text =
    outcome === 'approved'
      ? `Access request ${r.id} (${r.secret}, for ${r.requester}) was approved by ${r.decidedBy} until ${r.expiresAt}.`
      : `Access request ${r.id} (${r.secret}, for ${r.requester}) was denied by ${r.decidedBy}: ${r.decisionReason}.`;
  return { text, blocks: [{ type: 'section', text: { type: 'mrkdwn', text } }] };
}
