import { Flags } from '@oclif/core';
import type { CatalogEntity } from '@idp/contracts';
import type { CatalogEntityPage, EntityFilter } from '@idp/client';
import { BaseCommand } from '../../base-command.ts';
import { listSpec } from '../../output.ts';
import { displayRef } from '@idp/core/refs';
import { entityOwner, entityRef, specString } from '../../catalog-format.ts';

export default class CatalogList extends BaseCommand<typeof CatalogList> {
  static override summary = 'List catalog entities, filtered by kind, owner, type or a search term.';
  static override description = [
    'Entities are sorted by ref and listed one page at a time; --all follows the pages to the end, --cursor',
    'continues where a previous page stopped. Filters combine with AND. With --all, -o json gives one page',
    'object holding every item.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> --kind component',
    {
      description: "The payments team's services.",
      command: '<%= config.bin %> <%= command.id %> --kind component --type service --owner payments',
    },
    {
      description: 'Everything whose name or description mentions "billing", all pages, as JSON.',
      command: '<%= config.bin %> <%= command.id %> --search billing --all -o json',
    },
  ];
  static override flags = {
    kind: Flags.string({ summary: 'Only this kind: component, api, resource, system, group, user, …' }),
    owner: Flags.string({ summary: 'Only entities owned by this group (payments, group:payments).' }),
    type: Flags.string({ summary: 'Only this spec.type, e.g. service, website, library.' }),
    search: Flags.string({ char: 's', summary: 'Only entities whose name, title or description contains this text.' }),
    limit: Flags.integer({ min: 1, max: 500, summary: 'Entities per page, up to 500. Default: 50.' }),
    cursor: Flags.string({ summary: 'Continue from a previous page (its nextCursor).', exclusive: ['all'] }),
    all: Flags.boolean({ summary: 'Follow every page instead of stopping after the first.', default: false }),
  };

  async run(): Promise<void> {
    const { kind, owner, type, search, limit, cursor, all } = this.flags;
    const filter: EntityFilter = { kind, owner, type, q: search, limit, cursor };
    const page = all ? await this.everyPage(filter) : await this.api.listEntities(filter);

    await this.render(
      page,
      listSpec<CatalogEntityPage, CatalogEntity>(
        (p) => p.items,
        [
          { header: 'REF', value: (e) => displayRef(entityRef(e)) },
          { header: 'KIND', value: (e) => e.kind },
          { header: 'TYPE', value: (e) => specString(e, 'type') },
          { header: 'OWNER', value: (e) => displayRef(entityOwner(e)) },
          { header: 'LIFECYCLE', value: (e) => specString(e, 'lifecycle') },
        ],
        'No entities match.',
      ),
    );
    if (page.nextCursor) {
      this.info(
        `Showing ${page.items.length} of ${page.totalItems}. Next page: --cursor ${page.nextCursor} (or --all for every page).`,
      );
    }
  }

  /** The pages joined into one, in the API's page shape, so -o json looks the same either way. */
  private async everyPage(filter: EntityFilter): Promise<CatalogEntityPage> {
    const first = await this.api.listEntities(filter);
    const items = [...first.items];
    const seen = new Set<string>();
    let next = first.nextCursor;
    // A cursor seen twice would loop forever; the server never sends one, but a proxy cache might.
    while (next && !seen.has(next)) {
      seen.add(next);
      const page = await this.api.listEntities({ ...filter, cursor: next });
      items.push(...page.items);
      next = page.nextCursor;
    }
    return { items, totalItems: first.totalItems, nextCursor: null };
  }
}
