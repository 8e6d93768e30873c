import { Args } from '@oclif/core';
import type { Token } from '@idp/contracts';
import { displayRef } from '@idp/core/refs';
import { BaseCommand } from '../../base-command.ts';
import { formatTime, recordSpec } from '../../output.ts';

export default class TokenRevoke extends BaseCommand<typeof TokenRevoke> {
  static override summary = 'Revoke an API token; requests with it fail from now on.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> tok_01hx3k9',
    '<%= config.bin %> <%= command.id %> tok_01hx3k9 -o json',
  ];
  static override args = {
    id: Args.string({ description: 'Token id, as shown by `idp token:list`.', required: true }),
  };

  async run(): Promise<void> {
    const token = await this.api.revokeToken(this.args.id);
    this.info(`Revoked token ${token.id}.`);
    await this.render<Token>(
      token,
      recordSpec([
        { label: 'ID', value: (t) => t.id },
        { label: 'User', value: (t) => displayRef(t.user) },
        { label: 'Status', value: (t) => t.status },
        { label: 'Revoked', value: (t) => formatTime(t.revokedAt) },
      ]),
    );
  }
}
