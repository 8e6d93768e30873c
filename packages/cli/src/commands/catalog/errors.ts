import { Flags } from '@oclif/core';
import type { CatalogError } from '@idp/contracts';
import type { CatalogErrorList } from '@idp/client';
import { BaseCommand } from '../../base-command.ts';
import { formatColumns } from '../../output.ts';
import { displayRef } from '@idp/core/refs';

export default class CatalogErrors extends BaseCommand<typeof CatalogErrors> {
  static override summary = 'Show what went wrong reading catalog locations: bad YAML, invalid entities, conflicts.';
  static override description = [
    'Each problem names the location, the file and line when known, and the entity it concerns. Entities with',
    'a problem are left out of the catalog (or keep their previous version) until the file is fixed. Warnings',
    '(a Component without spec.lifecycle, say) are listed apart: those entities were accepted.',
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
    await this.render<CatalogErrorList>(await this.api.catalogErrors(this.flags.location), {
      kind: 'text',
      text: formatProblems,
    });
  }
}

/** Errors first, then warnings, each as a table under its own heading. */
export function formatProblems(list: CatalogErrorList): string {
  const errors = list.items.filter((e) => e.severity !== 'warning');
  const warnings = list.items.filter((e) => e.severity === 'warning');
  const table = (items: CatalogError[]) =>
    formatColumns(
      ['LOCATION', 'FILE:LINE', 'ENTITY', 'MESSAGE'],
      items.map((e) => [e.location, fileLine(e), e.entityRef ? displayRef(e.entityRef) : null, e.message]),
    );
  const parts = [errors.length ? `Errors (refused):\n${table(errors)}` : 'No catalog errors.\n'];
  if (warnings.length) parts.push(`Warnings (accepted; worth fixing):\n${table(warnings)}`);
  return parts.join('\n');
}

function fileLine(e: CatalogError): string | null {
  if (!e.file) return null;
  return e.line === null ? e.file : `${e.file}:${e.line}`;
}
