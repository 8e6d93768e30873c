import { Flags } from '@oclif/core';
import type { AccessRequest } from '@idp/contracts';
import type { AccessRequestList } from '@idp/client';
import { formatDuration } from '@idp/core/durations';
import { displayRef } from '@idp/core/refs';
import { BaseCommand } from '../../base-command.ts';
import { formatTime, listSpec } from '../../output.ts';

export default class AccessList extends BaseCommand<typeof AccessList> {
  static override summary = 'List access requests: yours, and those you may decide.';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    { description: 'What waits for your decision.', command: '<%= config.bin %> <%= command.id %> --to-review' },
    {
      description: 'Your own pending requests, as JSON.',
      command: '<%= config.bin %> <%= command.id %> --mine --pending -o json',
    },
  ];
  static override flags = {
    pending: Flags.boolean({ summary: 'Only requests waiting for a decision.' }),
    mine: Flags.boolean({ summary: 'Only your own requests.' }),
    'to-review': Flags.boolean({ summary: "Only others' pending requests that you may approve or deny." }),
  };

  async run(): Promise<void> {
    const { pending, mine } = this.flags;
    await this.render(
      await this.api.listAccessRequests({ pending, mine, toReview: this.flags['to-review'] }),
      listSpec<AccessRequestList, AccessRequest>(
        (l) => l.items,
        [
          { header: 'ID', value: (r) => r.id },
          {
            header: 'STATUS',
            value: (r) => (r.autoApproved && r.status === 'approved' ? 'approved (rule)' : r.status),
          },
          { header: 'REQUESTER', value: (r) => displayRef(r.requester) },
          { header: 'SECRET', value: (r) => r.secret },
          { header: 'DURATION', value: (r) => formatDuration(r.durationSeconds) },
          { header: 'UNTIL', value: (r) => formatTime(r.status === 'pending' ? r.pendingUntil : r.expiresAt) },
          { header: 'REASON', value: (r) => r.reason },
        ],
        'No access requests match.',
      ),
    );
  }
}
