import type { CatalogLocation } from '@idp/contracts';
import type { CatalogLocationList } from '@idp/client';
import { BaseCommand } from '../../base-command.ts';
import { formatTime, listSpec } from '../../output.ts';

export default class CatalogLocations extends BaseCommand<typeof CatalogLocations> {
  static override summary = 'List catalog locations with their entity and error counts.';
  static override description = [
    'Locations come from catalog.locations in idp.config.yaml (origin config) or from `idp catalog:register`',
    '(origin api). Each is read again at every refresh. IDENTITY says whether it is an identity source: only',
    "those provide Users and Groups (the config's locations, and those a platform admin registered as one).",
  ].join(' ');
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> -o json'];

  async run(): Promise<void> {
    await this.render(
      await this.api.listLocations(),
      listSpec<CatalogLocationList, CatalogLocation>(
        (list) => list.items,
        [
          { header: 'ID', value: (l) => l.id },
          { header: 'TYPE', value: (l) => l.type },
          { header: 'TARGET', value: (l) => l.target },
          { header: 'ORIGIN', value: (l) => l.origin },
          { header: 'IDENTITY', value: (l) => (l.identitySource ? 'yes' : 'no') },
          { header: 'ENTITIES', value: (l) => l.entities },
          { header: 'ERRORS', value: (l) => l.errors },
          { header: 'WARNINGS', value: (l) => l.warnings },
          { header: 'STATUS', value: (l) => l.status },
          { header: 'REFRESHED', value: (l) => formatTime(l.refreshedAt) },
        ],
        'No catalog locations. Register one with `idp catalog:register <path|url>`.',
      ),
    );
  }
}
