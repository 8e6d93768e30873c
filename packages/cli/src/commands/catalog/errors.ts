import { Flags } from '@oclif/core';
import type { CatalogError } from '@idp/contracts';
import type { CatalogErrorList } from '@idp/client';
import { BaseCommand } from '../../base-command.ts';
import { listSpec } from '../../output.ts';
import { displayRef } from '@idp/core/refs';

export default class CatalogErrors extends BaseCommand<typeof CatalogErrors> {
  static override summary = 'Show what went wrong reading catalog locations: bad YAML, invalid entities, conflicts.';
  static override description = [
    'Each problem names the location, the file and line when known, and the entity it concerns. Entities with',
    'a problem are left out of the catalog (or keep their previous version) until the file is fixed.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    {
      description: 'One location only.',
      command: '<%= config.bin %> <%= command.id %> --location 3f2a9c1e-0b7d-4c55-9a1e-2d6f8b0c4e71',
    },
  ];
  static override flags = {
    location: Flags.string({ summary: 'Only this location id (see `idp catalog:locations`).' }),
  };

  async run(): Promise<void> {
    await this.render(
      await this.api.catalogErrors(this.flags.location),
      listSpec<CatalogErrorList, CatalogError>(
        (list) => list.items,
        [
          { header: 'LOCATION', value: (e) => e.location },
          { header: 'FILE:LINE', value: (e) => fileLine(e) },
          { header: 'ENTITY', value: (e) => (e.entityRef ? displayRef(e.entityRef) : null) },
          { header: 'MESSAGE', value: (e) => e.message },
        ],
        'No catalog errors.',
      ),
    );
  }
}

function fileLine(e: CatalogError): string | null {
  if (!e.file) return null;
  return e.line === null ? e.file : `${e.file}:${e.line}`;
}
