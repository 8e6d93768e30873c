import { Args } from '@oclif/core';
import { parsePullRequestRef } from '@idp/client';
import { BaseCommand } from '../../base-command.ts';
import { formatPreview } from '../../preview-format.ts';

export default class PreviewRedeploy extends BaseCommand<typeof PreviewRedeploy> {
  static override summary = 'Deploy a pull request’s head commit to its preview again (in the background).';
  static override examples = ['<%= config.bin %> <%= command.id %> acme/payments#12'];
  static override args = {
    pr: Args.string({ description: 'The pull request, owner/name#number.', required: true }),
  };

  async run(): Promise<void> {
    const ref = parsePullRequestRef(this.args.pr);
    const p = await this.api.redeployPreview(ref);
    this.info(`Redeploying ${p.headSha.slice(0, 12)} to ${p.env}; follow it with \`idp preview:get ${this.args.pr}\`.`);
    await this.render(p, { kind: 'text', text: () => formatPreview(p) });
  }
}
