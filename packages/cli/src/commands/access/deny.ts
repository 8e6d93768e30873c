import { Args, Flags } from '@oclif/core';
import type { AccessRequest } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { recordSpec } from '../../output.ts';
import { REQUEST_FIELDS } from './format.ts';

export default class AccessDeny extends BaseCommand<typeof AccessDeny> {
  static override summary = 'Deny a pending access request, saying why.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> acc_3fK9x2mQa1 --reason "use the staging key for this"',
  ];
  static override args = {
    id: Args.string({ description: 'Request id.', required: true }),
  };
  static override flags = {
    reason: Flags.string({ summary: 'Why; the requester sees it.', required: true }),
  };

  async run(): Promise<void> {
    const request = await this.api.denyAccess(this.args.id, this.flags.reason);
    this.info(`Denied ${request.id}.`);
    await this.render<AccessRequest>(request, recordSpec(REQUEST_FIELDS));
  }
}
