import { Args } from '@oclif/core';
import type { RefreshResult } from '@idp/contracts';
import type { RefreshResultList } from '@idp/client';
import { BaseCommand } from '../../base-command.ts';
import { listSpec, recordSpec } from '../../output.ts';
import { refreshCounts } from '../../catalog-format.ts';

export default class CatalogRefresh extends BaseCommand<typeof CatalogRefresh> {
  static override summary = 'Read catalog locations again now: one by id, or all of them.';
  static override description = [
    'Locations are refreshed on a timer anyway; this is for when you have just pushed a change. Without an id',
    'every location is read, one after another. Needs the catalog:refresh permission.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {
      description: 'One location, by the id `idp catalog:locations` shows.',
      command: '<%= config.bin %> <%= command.id %> 3f2a9c1e-0b7d-4c55-9a1e-2d6f8b0c4e71',
    },
  ];
  static override args = {
    'location-id': Args.string({
      description: 'Location id, as shown by `idp catalog:locations`. Default: every location.',
    }),
  };

  async run(): Promise<void> {
    const id = this.args['location-id'];
    if (id) {
      this.info(`Refreshing location ${id}…`);
      const result = await this.api.refreshLocation(id);
      this.info(`Done in ${result.durationMs} ms: ${refreshCounts(result)}.`);
      await this.render<RefreshResult>(
        result,
        recordSpec([
          { label: 'Location', value: (r) => r.location.id },
          { label: 'Target', value: (r) => `${r.location.type}:${r.location.target}` },
          { label: 'Status', value: (r) => r.location.status },
          { label: 'Entities', value: (r) => r.location.entities },
          { label: 'Added', value: (r) => r.added },
          { label: 'Updated', value: (r) => r.updated },
          { label: 'Removed', value: (r) => r.removed },
          { label: 'Unchanged', value: (r) => r.unchanged },
          { label: 'Errors', value: (r) => r.errors },
          { label: 'Warnings', value: (r) => r.warnings.length },
          { label: 'Last error', value: (r) => r.location.lastError },
        ]),
      );
      this.hintErrors(result.errors, id);
      return;
    }

    this.info('Refreshing every catalog location…');
    const all = await this.api.refreshAll();
    const ms = all.items.reduce((sum, r) => sum + r.durationMs, 0);
    this.info(`Refreshed ${all.items.length} location${all.items.length === 1 ? '' : 's'} in ${ms} ms.`);
    await this.render(
      all,
      listSpec<RefreshResultList, RefreshResult>(
        (list) => list.items,
        [
          { header: 'ID', value: (r) => r.location.id },
          { header: 'TARGET', value: (r) => `${r.location.type}:${r.location.target}` },
          { header: 'STATUS', value: (r) => r.location.status },
          { header: 'ADDED', value: (r) => r.added },
          { header: 'UPDATED', value: (r) => r.updated },
          { header: 'REMOVED', value: (r) => r.removed },
          { header: 'ERRORS', value: (r) => r.errors },
          { header: 'WARNINGS', value: (r) => r.warnings.length },
          { header: 'MS', value: (r) => r.durationMs },
        ],
        'No catalog locations to refresh.',
      ),
    );
    this.hintErrors(all.items.reduce((sum, r) => sum + r.errors, 0));
  }

  private hintErrors(errors: number, locationId?: string): void {
    if (errors === 0) return;
    const command = locationId ? `idp catalog:errors --location ${locationId}` : 'idp catalog:errors';
    this.info(`${errors} problem${errors === 1 ? '' : 's'} reading the catalog: run \`${command}\` to see them.`);
  }
}
