import { Args } from '@oclif/core';
import { parsePullRequestRef } from '@idp/client';
import { BaseCommand } from '../../base-command.ts';
import { formatPreview } from '../../preview-format.ts';

export default class PreviewDelete extends BaseCommand<typeof PreviewDelete> {
  static override summary =
    'Tear a pull request’s preview down (environment, database, Redis, secrets, processes), in the background.';
  static override description = 'A new push to the pull request, or reopening it, makes the preview again.';
  static override examples = ['<%= config.bin %> <%= command.id %> acme/payments#12'];
  static override args = {
    pr: Args.string({ description: 'The pull request, owner/name#number.', required: true }),
  };

  async run(): Promise<void> {
    const p = await this.api.deletePreview(parsePullRequestRef(this.args.pr));
    this.info(`Tearing down ${p.env}; follow it with \`idp preview:get ${this.args.pr}\`.`);
    await this.render(p, { kind: 'text', text: () => formatPreview(p) });
  }
}
