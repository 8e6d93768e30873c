import { Args, Flags } from '@oclif/core';
import type { SecretValue } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';

export default class SecretGet extends BaseCommand<typeof SecretGet> {
  static override summary = 'Print a secret value (the read is audited).';
  static override description = [
    'Prints the value alone, with a newline, so it can be piped. Non-production secrets are readable by the',
    'owning team and platform admins; production secrets need an active grant (`idp access:request`), which',
    'the owning team gets at once. `-o json` prints the value with its path, version and the grant used.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> staging/payments-api/STRIPE_KEY',
    {
      description: 'An older version.',
      command: '<%= config.bin %> <%= command.id %> staging/payments-api/STRIPE_KEY --version 2',
    },
  ];
  static override args = {
    path: Args.string({ description: '<env>/<service>/<KEY>.', required: true }),
  };
  static override flags = {
    version: Flags.integer({ min: 1, summary: 'Read this version instead of the current one (see secret:versions).' }),
  };

  async run(): Promise<void> {
    const secret = await this.api.getSecret(this.args.path, this.flags.version);
    await this.render<SecretValue>(secret, { kind: 'text', text: (s) => `${s.value}\n` });
  }
}
