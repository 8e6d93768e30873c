import { Args } from '@oclif/core';
import type { SecretVersion, SecretVersionList } from '@idp/contracts';
import { displayRef } from '@idp/core/refs';
import { BaseCommand } from '../../base-command.ts';
import { formatTime, listSpec } from '../../output.ts';

export default class SecretVersions extends BaseCommand<typeof SecretVersions> {
  static override summary = 'List the versions of a secret: when and by whom (never values).';
  static override examples = ['<%= config.bin %> <%= command.id %> staging/payments-api/STRIPE_KEY'];
  static override args = {
    path: Args.string({ description: '<env>/<service>/<KEY>.', required: true }),
  };

  async run(): Promise<void> {
    const list = await this.api.secretVersions(this.args.path);
    if (list.deletedAt) this.info(`${list.path} was deleted at ${formatTime(list.deletedAt)}; its versions are kept.`);
    await this.render(
      list,
      listSpec<SecretVersionList, SecretVersion>(
        (l) => l.items,
        [
          { header: 'VERSION', value: (v) => v.version },
          { header: 'CREATED', value: (v) => formatTime(v.createdAt) },
          { header: 'CREATED BY', value: (v) => displayRef(v.createdBy) },
          { header: 'CURRENT', value: (v) => v.current },
        ],
        'No versions.',
      ),
    );
  }
}
