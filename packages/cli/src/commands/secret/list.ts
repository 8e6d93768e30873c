import { Flags } from '@oclif/core';
import type { SecretMeta } from '@idp/contracts';
import type { SecretList } from '@idp/client';
import { displayRef } from '@idp/core/refs';
import { BaseCommand } from '../../base-command.ts';
import { formatTime, listSpec } from '../../output.ts';

export default class SecretList_ extends BaseCommand<typeof SecretList_> {
  static override summary = 'List secrets: names, versions and who changed them (never values).';
  static override description =
    'Shows the secrets of the services you may list (by default, those your teams own; admins see all). The listing is audited.';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --env staging --service payments-api',
  ];
  static override flags = {
    env: Flags.string({ summary: 'Only this environment.' }),
    service: Flags.string({ summary: 'Only this service.' }),
  };

  async run(): Promise<void> {
    const { env, service } = this.flags;
    await this.render(
      await this.api.listSecrets({ env, service }),
      listSpec<SecretList, SecretMeta>(
        (l) => l.items,
        [
          { header: 'PATH', value: (s) => s.path },
          { header: 'VERSION', value: (s) => s.version },
          { header: 'UPDATED', value: (s) => formatTime(s.updatedAt) },
          { header: 'UPDATED BY', value: (s) => displayRef(s.updatedBy) },
        ],
        'No secrets you may list.',
      ),
    );
  }
}
