import { Args, Flags } from '@oclif/core';
import type { RefreshResult } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { recordSpec } from '../../output.ts';
import { refreshCounts } from '../../catalog-format.ts';

export default class CatalogIdentitySource extends BaseCommand<typeof CatalogIdentitySource> {
  static override summary =
    'Mark a registered location as an identity source (its Users and Groups count), or unmark it with --off.';
  static override description = [
    'Users, Groups and memberships come only from identity sources: catalog.locations in idp.config.yaml and',
    'locations a platform admin marked. The location is read again at once: marked, its Users and Groups join',
    'the directory; unmarked, they leave it (and their tokens are revoked for good). Platform admins only',
    '(catalog:identity-source); config locations are decided by catalog.identitySources in the config.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> 3f2a9c1e-0b7d-4c55-9a1e-2d6f8b0c4e71',
    {
      description: 'Stop trusting a location for identity.',
      command: '<%= config.bin %> <%= command.id %> 3f2a9c1e-0b7d-4c55-9a1e-2d6f8b0c4e71 --off',
    },
  ];
  static override args = {
    'location-id': Args.string({ description: 'Location id, as shown by `idp catalog:locations`.', required: true }),
  };
  static override flags = {
    off: Flags.boolean({ summary: 'Unmark: its User and Group entities are refused from now on.', default: false }),
  };

  async run(): Promise<void> {
    const id = this.args['location-id'];
    const result = await this.api.setIdentitySource(id, !this.flags.off);
    this.info(
      `Location ${id} is ${result.location.identitySource ? 'now' : 'no longer'} an identity source; read again: ${refreshCounts(result)}.`,
    );
    await this.render<RefreshResult>(
      result,
      recordSpec([
        { label: 'Location', value: (r) => r.location.id },
        { label: 'Target', value: (r) => `${r.location.type}:${r.location.target}` },
        { label: 'Identity source', value: (r) => (r.location.identitySource ? 'yes' : 'no') },
        { label: 'Entities', value: (r) => r.location.entities },
        { label: 'Errors', value: (r) => r.errors },
      ]),
    );
  }
}
