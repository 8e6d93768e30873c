import { Args, Flags } from '@oclif/core';
import type { AccessRequest } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { recordSpec } from '../../output.ts';
import { outcome, REQUEST_FIELDS } from './format.ts';

export default class AccessApprove extends BaseCommand<typeof AccessApprove> {
  static override summary = 'Approve a pending access request (the owning team or platform admins; never your own).';
  static override examples = [
    '<%= config.bin %> <%= command.id %> acc_3fK9x2mQa1',
    {
      description: 'Grant a shorter window than asked.',
      command: '<%= config.bin %> <%= command.id %> acc_3fK9x2mQa1 --duration 30m',
    },
  ];
  static override args = {
    id: Args.string({ description: 'Request id, as shown by `idp access:list --to-review`.', required: true }),
  };
  static override flags = {
    duration: Flags.string({
      summary: 'Grant this long instead of what was asked, e.g. 30m (within the policy maximum).',
    }),
    reason: Flags.string({ summary: 'A note for the record.' }),
  };

  async run(): Promise<void> {
    const { duration, reason } = this.flags;
    const request = await this.api.approveAccess(this.args.id, {
      ...(duration ? { duration } : {}),
      ...(reason ? { reason } : {}),
    });
    this.info(`Approved ${request.id}: ${outcome(request)}.`);
    await this.render<AccessRequest>(request, recordSpec(REQUEST_FIELDS));
  }
}
