import { Flags } from '@oclif/core';
import { formatAge } from '@idp/core/durations';
import type { AccessStats } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { formatTime, recordSpec } from '../../output.ts';

function seconds(value: number | null): string {
  return value === null ? '-' : formatAge(value * 1000);
}

export default class AccessStatsCommand extends BaseCommand<typeof AccessStatsCommand> {
  static override summary = 'Access request figures: outcomes, the share approved by rule, time to decision.';
  static override description =
    'Counted over the requests you can see (admins: all). Times are nearest-rank percentiles; auto-approvals count as 0 s.';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --since 30d -o json',
  ];
  static override flags = {
    since: Flags.string({ summary: 'Only requests made within this long, e.g. 7d.' }),
  };

  async run(): Promise<void> {
    const stats = await this.api.accessStats(this.flags.since);
    await this.render<AccessStats>(
      stats,
      recordSpec([
        { label: 'Since', value: (s) => (s.since ? formatTime(s.since) : 'the beginning') },
        { label: 'Requests', value: (s) => s.total },
        {
          label: 'By outcome',
          value: (s) =>
            Object.entries(s.byOutcome)
              .map(([k, n]) => `${k} ${n}`)
              .join(', '),
        },
        {
          label: 'Approved by rule',
          value: (s) =>
            `${s.autoApproved}${s.autoApprovedShare === null ? '' : ` (${Math.round(s.autoApprovedShare * 100)}% of decided)`}`,
        },
        {
          label: 'Time to decision',
          value: (s) =>
            `median ${seconds(s.decisionTime.medianSeconds)}, p90 ${seconds(s.decisionTime.p90Seconds)} (${s.decisionTime.count} decided)`,
        },
        {
          label: "Time to a person's decision",
          value: (s) =>
            `median ${seconds(s.manualDecisionTime.medianSeconds)}, p90 ${seconds(s.manualDecisionTime.p90Seconds)} (${s.manualDecisionTime.count} decided)`,
        },
      ]),
    );
  }
}
