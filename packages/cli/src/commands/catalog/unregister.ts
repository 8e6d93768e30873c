import { Args } from '@oclif/core';
import { BaseCommand } from '../../base-command.ts';

export default class CatalogUnregister extends BaseCommand<typeof CatalogUnregister> {
  static override summary = 'Remove a registered catalog location and the entities it provided.';
  static override description = [
    'Locations from idp.config.yaml cannot be removed this way (they would come back at the next start): edit',
    'the config instead. Prints nothing on stdout, in every output format; the API answers with no body.',
    'Needs the catalog:delete permission.',
  ].join(' ');
  static override examples = ['<%= config.bin %> <%= command.id %> 3f2a9c1e-0b7d-4c55-9a1e-2d6f8b0c4e71'];
  static override args = {
    'location-id': Args.string({ description: 'Location id, as shown by `idp catalog:locations`.', required: true }),
  };

  async run(): Promise<void> {
    const id = this.args['location-id'];
    await this.api.deleteLocation(id);
    this.info(`Unregistered location ${id}; its entities are gone from the catalog.`);
  }
}
