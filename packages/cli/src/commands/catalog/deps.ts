import { Args, Flags } from '@oclif/core';
import type { DependencyTree } from '@idp/client';
import { BaseCommand } from '../../base-command.ts';
import { formatDependencyTree } from '../../catalog-format.ts';

export default class CatalogDeps extends BaseCommand<typeof CatalogDeps> {
  static override summary = "Show what an entity depends on, as a tree, with each dependency's owner.";
  static override description = [
    'Follows spec.dependsOn and spec.consumesApis. A ref already on the path is marked (cycle) and not expanded',
    'again; a ref that no catalog entity answers to is marked (missing).',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> payments-api',
    {
      description: 'Direct dependencies only, as JSON.',
      command: '<%= config.bin %> <%= command.id %> payments-api --depth 1 -o json',
    },
  ];
  static override args = {
    ref: Args.string({
      description: 'Entity reference, e.g. payments-api or component:default/payments-api.',
      required: true,
    }),
  };
  static override flags = {
    depth: Flags.integer({ min: 1, max: 10, summary: 'How many levels to follow, up to 10. Default: 3.' }),
  };

  async run(): Promise<void> {
    const tree = await this.api.dependencies(this.args.ref, this.flags.depth);
    await this.render<DependencyTree>(tree, { kind: 'text', text: formatDependencyTree });
    if (tree.truncated && this.outputFormat === 'table') {
      this.info(`Deeper dependencies were left out at depth ${tree.depth}: raise --depth to see them.`);
    }
  }
}
