import { Flags } from '@oclif/core';
import type { AuditRecord } from '@idp/contracts';
import type { AuditList } from '@idp/client';
import { BaseCommand } from '../../base-command.ts';
import { formatTime, listSpec } from '../../output.ts';

export default class Audit extends BaseCommand<typeof Audit> {
  static override summary = 'Show audit records, newest first.';
  static override description = [
    'Every action through the control plane is recorded with its actor, target, decision and the policies',
    'that decided it. Filters combine with AND.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {
      description: 'What was denied in the last hour.',
      command: '<%= config.bin %> <%= command.id %> --decision deny --since 1h',
    },
    {
      description: "Alice's token actions, as JSON.",
      command: '<%= config.bin %> <%= command.id %> --actor alice@company.com --action "token:*" -o json',
    },
  ];
  static override flags = {
    actor: Flags.string({ summary: 'Only this actor (entity ref or email).' }),
    action: Flags.string({ summary: 'Only this action, e.g. token:create; a trailing * matches a prefix (token:*).' }),
    decision: Flags.option({ options: ['allow', 'deny', 'error'] as const, summary: 'Only this decision.' })(),
    since: Flags.string({ summary: 'Only records newer than this duration, e.g. 30m, 1h, 7d.' }),
    limit: Flags.integer({ min: 1, max: 1000, summary: 'At most this many records. Default: 100.' }),
  };

  async run(): Promise<void> {
    const { actor, action, decision, since, limit } = this.flags;
    await this.render(
      await this.api.listAudit({ actor, action, decision, since, limit }),
      listSpec<AuditList, AuditRecord>(
        (list) => list.items,
        [
          { header: 'SEQ', value: (r) => r.seq },
          { header: 'TIME', value: (r) => formatTime(r.time) },
          { header: 'ACTOR', value: (r) => r.actor },
          { header: 'ACTION', value: (r) => r.action },
          { header: 'TARGET', value: (r) => r.target },
          { header: 'DECISION', value: (r) => r.decision },
          { header: 'POLICIES', value: (r) => r.policyIds },
        ],
        'No audit records match.',
      ),
    );
  }
}
