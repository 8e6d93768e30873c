import { Args, Flags } from '@oclif/core';
import { BaseCommand } from '../../base-command.ts';
import { environmentView, formatEnvironment } from '../../env-format.ts';
import { formatTime } from '../../output.ts';

export default class EnvExtend extends BaseCommand<typeof EnvExtend> {
  static override summary = 'Give an environment more time: the new --ttl counts from now.';
  static override description =
    'The policies set the maximum lifetime (by default 14d). Base environments never expire.';
  static override examples = ['<%= config.bin %> <%= command.id %> feature-payments --ttl=3d'];
  static override args = {
    name: Args.string({ description: 'The environment, e.g. feature-payments.', required: true }),
  };
  static override flags = {
    ttl: Flags.string({ summary: 'How long from now, e.g. 12h or 3d.', required: true }),
  };

  async run(): Promise<void> {
    const env = await this.api.extendEnvironment(this.args.name, this.flags.ttl);
    this.info(`${env.name} now expires at ${formatTime(env.expiresAt)}.`);
    await this.render(environmentView(env), { kind: 'text', text: () => formatEnvironment(env) });
  }
}
