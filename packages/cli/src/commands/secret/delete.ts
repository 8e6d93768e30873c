import { Args } from '@oclif/core';
import type { SecretMeta } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { recordSpec } from '../../output.ts';

export default class SecretDelete extends BaseCommand<typeof SecretDelete> {
  static override summary = 'Delete a secret; its versions are kept for the record.';
  static override description =
    'Reads and the Vault endpoint stop returning it at once. `idp secret:set` on the same path brings it back as the next version.';
  static override examples = ['<%= config.bin %> <%= command.id %> staging/payments-api/OLD_KEY'];
  static override args = {
    path: Args.string({ description: '<env>/<service>/<KEY>.', required: true }),
  };

  async run(): Promise<void> {
    const meta = await this.api.deleteSecret(this.args.path);
    this.info(`Deleted ${meta.path} (its ${meta.version} version${meta.version === 1 ? ' is' : 's are'} kept).`);
    await this.render<SecretMeta>(
      meta,
      recordSpec([
        { label: 'Path', value: (m) => m.path },
        { label: 'Last version', value: (m) => m.version },
      ]),
    );
  }
}
