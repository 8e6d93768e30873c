import { Flags } from '@oclif/core';
import type { AccessRequest } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { recordSpec } from '../../output.ts';
import { outcome, REQUEST_FIELDS } from './format.ts';

export default class AccessRequestCommand extends BaseCommand<typeof AccessRequestCommand> {
  static override summary =
    "Ask for time-boxed read access to a secret (or all of a service's secrets in an environment).";
  static override description = [
    'No ticket: when you are on the owning team, a policy approves it at once and the output names the rule.',
    "Anyone else's request waits for a member of the owning team (or a platform admin), who is notified.",
    'Every grant ends by itself; the policies set the maximum duration (by default 8h, 4h in production).',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> --secret=production/payments-api/STRIPE_KEY --reason="INC-123" --duration=2h',
    {
      description: 'Every secret of a service in an environment (also what `secret:token` needs in production).',
      command:
        '<%= config.bin %> <%= command.id %> --secret="production/payments-api/*" --reason="deploy 1.4.2" --duration=1h',
    },
  ];
  static override flags = {
    secret: Flags.string({
      summary: 'A path (production/payments-api/STRIPE_KEY) or pattern (production/payments-api/*, …/STRIPE_*).',
      required: true,
    }),
    reason: Flags.string({
      summary: 'Why you need it (an incident or ticket id); recorded and shown to approvers.',
      required: true,
    }),
    duration: Flags.string({ summary: "How long, e.g. 30m or 2h. Default: the server's (1h)." }),
  };

  async run(): Promise<void> {
    const { secret, reason, duration } = this.flags;
    const request = await this.api.requestAccess({ secret, reason, ...(duration ? { duration } : {}) });
    this.info(
      request.status === 'pending'
        ? `Request ${request.id} is pending: ${outcome(request)}.`
        : `Request ${request.id}: ${outcome(request)}.`,
    );
    await this.render<AccessRequest>(request, recordSpec(REQUEST_FIELDS));
  }
}
