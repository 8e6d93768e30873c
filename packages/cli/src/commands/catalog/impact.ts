import { Args } from '@oclif/core';
import type { ImpactReport } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { formatImpact } from '../../catalog-format.ts';

export default class CatalogImpact extends BaseCommand<typeof CatalogImpact> {
  static override summary = 'Show everything that breaks when an entity breaks, and who must be told.';
  static override description = [
    'Lists every transitive dependent (through dependsOn and the APIs it provides), grouped by distance, with',
    'its owner and on-call contact; then the teams to tell, each with its contact. Dependency cycles met on the',
    'way are listed too.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> users-api',
    {
      description: 'As JSON, for a change-management bot.',
      command: '<%= config.bin %> <%= command.id %> resource:users-db -o json',
    },
  ];
  static override args = {
    ref: Args.string({ description: 'Entity reference, e.g. users-api or resource:default/users-db.', required: true }),
  };

  async run(): Promise<void> {
    await this.render<ImpactReport>(await this.api.impact(this.args.ref), { kind: 'text', text: formatImpact });
  }
}
