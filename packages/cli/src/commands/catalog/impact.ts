import { Args, Flags } from '@oclif/core';
import type { ImpactReport } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { formatImpact } from '../../catalog-format.ts';

export default class CatalogImpact extends BaseCommand<typeof CatalogImpact> {
  static override summary = 'Show everything that breaks when an entity breaks, and who must be told.';
  static override description = [
    'Lists every transitive dependent (through dependsOn and the APIs it provides), grouped by distance, with',
    'its owner and on-call contact; then the teams to tell, each with its contact. Dependency cycles met on the',
    'way are listed too. With --limit, one page of the report: the next page is one --cursor away.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> users-api',
    {
      description: 'As JSON, for a change-management bot.',
      command: '<%= config.bin %> <%= command.id %> resource:users-db -o json',
    },
    {
      description: 'The first 50 dependents of a hub, then the next 50.',
      command:
        '<%= config.bin %> <%= command.id %> users-db --limit 50\n<%= config.bin %> <%= command.id %> users-db --limit 50 --cursor <cursor>',
    },
  ];
  static override flags = {
    limit: Flags.integer({ summary: 'Dependents per page (the whole report when absent).', min: 1, max: 10000 }),
    cursor: Flags.string({ summary: 'Where the previous page ended (printed after it).', dependsOn: ['limit'] }),
  };
  static override args = {
    ref: Args.string({ description: 'Entity reference, e.g. users-api or resource:default/users-db.', required: true }),
  };

  async run(): Promise<void> {
    const { limit, cursor } = this.flags;
    const report = await this.api.impact(this.args.ref, { limit, cursor });
    await this.render<ImpactReport>(report, { kind: 'text', text: formatImpact });
    if (report.total !== undefined) {
      const shown = report.dependents.length;
      this.info(
        report.nextCursor
          ? `${shown} of ${report.total} dependents shown; next page: --limit ${limit} --cursor ${report.nextCursor}`
          : `${shown} dependents on this last page, ${report.total} in all.`,
      );
    }
  }
}
