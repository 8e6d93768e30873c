import { Args } from '@oclif/core';
import { parsePullRequestRef } from '@idp/client';
import { BaseCommand } from '../../base-command.ts';
import { formatPreview } from '../../preview-format.ts';

export default class PreviewGet extends BaseCommand<typeof PreviewGet> {
  static override summary =
    'Show a pull request’s preview: environment, services with URLs, the commit deployed and the events received with their outcome.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> acme/payments#12',
    '<%= config.bin %> <%= command.id %> acme/payments#12 -o json',
  ];
  static override args = {
    pr: Args.string({ description: 'The pull request, owner/name#number.', required: true }),
  };

  async run(): Promise<void> {
    const p = await this.api.getPreview(parsePullRequestRef(this.args.pr));
    await this.render(p, { kind: 'text', text: () => formatPreview(p) });
  }
}
