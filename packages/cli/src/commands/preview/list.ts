import { Flags } from '@oclif/core';
import type { Preview } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { listSpec } from '../../output.ts';
import { oneLine } from '../../preview-format.ts';

export default class PreviewList extends BaseCommand<typeof PreviewList> {
  static override summary = 'List the preview environments of pull requests you may see (your teams’; all for admins).';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --repo acme/payments -o json',
  ];
  static override flags = {
    repo: Flags.string({ summary: 'Only this repository (owner/name).' }),
  };

  async run(): Promise<void> {
    const list = await this.api.listPreviews(this.flags.repo ? { repo: this.flags.repo } : {});
    await this.render(
      list,
      listSpec<typeof list, Preview>(
        () => list.items,
        [
          { header: 'PULL REQUEST', value: (p) => `${p.repo}#${p.number}` },
          { header: 'ENVIRONMENT', value: (p) => p.env },
          { header: 'STATUS', value: (p) => p.status },
          { header: 'COMMIT', value: (p) => p.headSha.slice(0, 12) },
          { header: 'URL', value: (p) => p.services.find((s) => s.url)?.url ?? '-' },
          { header: 'TITLE', value: (p) => oneLine(p.title).slice(0, 50) },
        ],
        'No previews you may see.',
      ),
    );
  }
}
