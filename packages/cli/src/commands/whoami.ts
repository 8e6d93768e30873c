import type { Principal } from '@idp/contracts';
import { BaseCommand } from '../base-command.ts';
import { recordSpec } from '../output.ts';

export const principalSpec = recordSpec<Principal>([
  { label: 'User', value: (p) => p.ref },
  { label: 'Name', value: (p) => p.displayName ?? p.name },
  { label: 'Email', value: (p) => p.email },
  { label: 'Teams', value: (p) => p.teams },
  { label: 'Roles', value: (p) => p.roles },
  { label: 'Token', value: (p) => p.tokenId ?? 'bootstrap admin token' },
]);

export default class Whoami extends BaseCommand<typeof Whoami> {
  static override summary = 'Show who the control plane thinks you are.';
  static override description =
    'Prints the user your API token acts as, with the teams (groups) and roles that policies see.';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --output json',
  ];

  async run(): Promise<void> {
    await this.render(await this.api.whoami(), principalSpec);
  }
}
