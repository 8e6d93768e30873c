import { Args } from '@oclif/core';
import type { WorkloadTokenInfo } from '@idp/contracts';
import { displayRef } from '@idp/core/refs';
import { BaseCommand } from '../../../base-command.ts';
import { formatTime, recordSpec } from '../../../output.ts';

export default class SecretTokenRevoke extends BaseCommand<typeof SecretTokenRevoke> {
  static override summary = 'Revoke a workload token; Vault reads with it are refused from now on.';
  static override description = "For the token's creator and platform admins. The revocation is audited.";
  static override examples = [
    '<%= config.bin %> <%= command.id %> wtk_3fK9x2mQa1',
    '<%= config.bin %> <%= command.id %> wtk_3fK9x2mQa1 -o json',
  ];
  static override args = {
    id: Args.string({ description: 'Workload token id, as shown by `idp secret:token:list`.', required: true }),
  };

  async run(): Promise<void> {
    const token = await this.api.revokeWorkloadToken(this.args.id);
    this.info(`Revoked workload token ${token.id}.`);
    await this.render<WorkloadTokenInfo>(
      token,
      recordSpec([
        { label: 'ID', value: (t) => t.id },
        { label: 'Scope', value: (t) => `${t.env}/${t.service}` },
        { label: 'Created by', value: (t) => displayRef(t.createdBy) },
        { label: 'Status', value: (t) => t.status },
        { label: 'Revoked', value: (t) => formatTime(t.revokedAt) },
      ]),
    );
  }
}
