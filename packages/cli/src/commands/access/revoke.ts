import { Args, Flags } from '@oclif/core';
import type { AccessRequest } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { recordSpec } from '../../output.ts';
import { REQUEST_FIELDS } from './format.ts';

export default class AccessRevoke extends BaseCommand<typeof AccessRevoke> {
  static override summary = 'End an access grant now, or withdraw a pending request.';
  static override description =
    'The requester may revoke their own; the owning team and platform admins any on their secrets. Workload tokens bound to the grant stop working too.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> acc_3fK9x2mQa1',
    '<%= config.bin %> <%= command.id %> acc_3fK9x2mQa1 --reason "incident closed"',
  ];
  static override args = {
    id: Args.string({ description: 'Request id.', required: true }),
  };
  static override flags = {
    reason: Flags.string({ summary: 'A note for the record.' }),
  };

  async run(): Promise<void> {
    const request = await this.api.revokeAccess(this.args.id, this.flags.reason);
    this.info(`Revoked ${request.id}.`);
    await this.render<AccessRequest>(request, recordSpec(REQUEST_FIELDS));
  }
}
