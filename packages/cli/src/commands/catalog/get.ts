import { Args } from '@oclif/core';
import type { CatalogEntity } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { formatEntity } from '../../catalog-format.ts';

export default class CatalogGet extends BaseCommand<typeof CatalogGet> {
  static override summary = 'Show one catalog entity: owner, lifecycle, system, annotations and relations.';
  static override description = [
    'A bare name is a component (payments-api), or the one entity of any kind with that name. -o yaml and',
    '-o json print the entity as the catalog stores it, relations included.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> payments-api',
    { description: 'A group, as YAML.', command: '<%= config.bin %> <%= command.id %> group:payments -o yaml' },
  ];
  static override args = {
    ref: Args.string({
      description: 'Entity reference: [kind:][namespace/]name, e.g. payments-api or api:default/payments.',
      required: true,
    }),
  };

  async run(): Promise<void> {
    await this.render<CatalogEntity>(await this.api.getEntity(this.args.ref), { kind: 'text', text: formatEntity });
  }
}
