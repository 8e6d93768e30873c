import { Flags } from '@oclif/core';
import type { CreatedToken } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { formatRecord, formatTime } from '../../output.ts';

export default class TokenCreate extends BaseCommand<typeof TokenCreate> {
  static override summary = 'Issue an API token that acts as a user.';
  static override description = [
    'The token is printed once and stored only as a hash; copy it now. Needs the token:create permission',
    '(platform admins by default).',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> --user alice@company.com',
    {
      description: 'A short-lived token for CI, as JSON.',
      command:
        '<%= config.bin %> <%= command.id %> --user user:default/ci-bot --ttl 2h --description "release pipeline" -o json',
    },
  ];
  static override flags = {
    user: Flags.string({
      summary: 'Email or entity ref of the user the token acts as (alice@company.com, user:default/alice).',
      required: true,
    }),
    ttl: Flags.string({ summary: "Lifetime such as 30s, 5m, 2h or 7d. Default: the server's (30d)." }),
    description: Flags.string({ summary: 'What the token is for; shown by token:list.' }),
  };

  async run(): Promise<void> {
    const { user, ttl, description } = this.flags;
    const created = await this.api.createToken({
      user,
      ...(ttl ? { ttl } : {}),
      ...(description ? { description } : {}),
    });
    await this.render<CreatedToken>(created, {
      kind: 'text',
      text: (t) =>
        `${t.token}\n\n` +
        formatRecord([
          ['ID', t.id],
          ['User', t.user],
          ['Description', t.description],
          ['Expires', formatTime(t.expiresAt) === '-' ? 'never' : formatTime(t.expiresAt)],
        ]),
    });
    this.info('This token is shown only once: store it now (e.g. `idp login --token ...` or a CI secret).');
  }
}
