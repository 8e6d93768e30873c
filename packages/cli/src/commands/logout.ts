import { BaseCommand } from '../base-command.ts';
import { credentialsPath, removeCredentials } from '../credentials.ts';

export default class Logout extends BaseCommand<typeof Logout> {
  static override summary = 'Forget the saved control plane URL and token.';
  static override description =
    'Deletes the file `idp login` wrote. The token itself stays valid; revoke it with `idp token:revoke` if it leaked.';
  static override examples = ['<%= config.bin %> <%= command.id %>'];

  async run(): Promise<void> {
    const path = credentialsPath();
    const removed = removeCredentials();
    this.info(removed ? `Logged out: removed ${path}.` : `Not logged in: ${path} does not exist.`);
    await this.render({ removed, path }, { kind: 'text', text: () => '' });
  }
}
