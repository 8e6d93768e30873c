import { Flags } from '@oclif/core';
import { IdpClient } from '@idp/client';
import type { Principal } from '@idp/contracts';
import { BaseCommand } from '../base-command.ts';
import { DEFAULT_URL, writeCredentials } from '../credentials.ts';
import { principalSpec } from './whoami.ts';

export default class Login extends BaseCommand<typeof Login> {
  static override summary = 'Save the control plane URL and your API token for later commands.';
  static override description = [
    'Checks the token against the control plane (GET /api/whoami) before saving anything, then writes',
    'the URL and token to ~/.config/idp/config.json (honours XDG_CONFIG_HOME and IDP_CONFIG_DIR), readable',
    'only by you (mode 0600). IDP_URL and IDP_TOKEN, when set, override the saved values.',
  ].join(' ');
  static override examples = [
    {
      description: 'Log in with the bootstrap admin token of a local server.',
      command: '<%= config.bin %> <%= command.id %> --url http://localhost:7070 --token "$(cat .idp/admin-token)"',
    },
    {
      description: 'Keep the token out of your shell history.',
      command: 'IDP_TOKEN=... <%= config.bin %> <%= command.id %> --url https://idp.example.com',
    },
  ];
  static override flags = {
    url: Flags.string({ summary: 'Base URL of the control plane.', env: 'IDP_URL', default: DEFAULT_URL }),
    token: Flags.string({
      summary: 'Your API token (from `idp token:create` or the admin token file).',
      env: 'IDP_TOKEN',
      required: true,
    }),
  };

  async run(): Promise<void> {
    const { url, token } = this.flags;
    const client = new IdpClient({ url, token });
    const principal = await client.whoami();
    const path = writeCredentials({ url: client.url, token });
    this.info(`Logged in to ${client.url} as ${principal.ref}. Saved to ${path}.`);
    await this.render<Principal>(principal, principalSpec);
  }
}
