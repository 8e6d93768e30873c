import { Args } from '@oclif/core';
import type { EnvironmentConnection } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { exportLines } from '../../env-format.ts';

export default class EnvConnect extends BaseCommand<typeof EnvConnect> {
  static override summary =
    "Print `export …` lines with the environment's connection URLs (DATABASE_URL, REDIS_URL, REDIS_KEY_PREFIX), passwords included.";
  static override description = [
    'Subject to policy (by default the owner, their team and platform admins) and audited. The values are',
    'single-quoted for POSIX shells, so `eval "$(idp env:connect NAME)"` sets them whatever they contain.',
    '`-o json` prints {env, variables}.',
  ].join(' ');
  static override examples = [
    'eval "$(<%= config.bin %> <%= command.id %> feature-payments)"',
    '<%= config.bin %> <%= command.id %> feature-payments -o json',
  ];
  static override args = {
    name: Args.string({ description: 'The environment, e.g. feature-payments.', required: true }),
  };

  async run(): Promise<void> {
    const connection = await this.api.connectEnvironment(this.args.name);
    await this.render<EnvironmentConnection>(connection, { kind: 'text', text: (c) => exportLines(c.variables) });
    if (this.outputFormat === 'table')
      this.info(
        `These carry ${connection.env}'s passwords: load them with \`eval "$(idp env:connect ${connection.env})"\` rather than pasting them.`,
      );
  }
}
