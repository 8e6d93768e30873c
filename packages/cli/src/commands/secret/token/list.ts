import { Flags } from '@oclif/core';
import type { WorkloadTokenInfo } from '@idp/contracts';
import type { WorkloadTokenList } from '@idp/client';
import { displayRef } from '@idp/core/refs';
import { BaseCommand } from '../../../base-command.ts';
import { formatTime, listSpec } from '../../../output.ts';

export default class SecretTokenList extends BaseCommand<typeof SecretTokenList> {
  static override summary =
    'List workload tokens (the Vault-compatible read tokens of `idp secret:token`), active, expired and revoked.';
  static override description = [
    'You see the tokens you made; platform admins see all. The tokens themselves are never shown again.',
    'A token ends when its creator may no longer issue it (left the owning team, the production grant ended):',
    'its next read is refused and it shows as revoked by system:access-lost.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --env staging --service payments-api -o json',
  ];
  static override flags = {
    env: Flags.string({ summary: 'Only this environment.' }),
    service: Flags.string({ summary: 'Only this service.' }),
  };

  async run(): Promise<void> {
    const { env, service } = this.flags;
    await this.render(
      await this.api.listWorkloadTokens({ env, service }),
      listSpec<WorkloadTokenList, WorkloadTokenInfo>(
        (l) => l.items,
        [
          { header: 'ID', value: (t) => t.id },
          { header: 'SCOPE', value: (t) => `${t.env}/${t.service}` },
          { header: 'STATUS', value: (t) => t.status },
          { header: 'CREATED BY', value: (t) => displayRef(t.createdBy) },
          { header: 'CREATED', value: (t) => formatTime(t.createdAt) },
          { header: 'EXPIRES', value: (t) => formatTime(t.expiresAt) },
          { header: 'LAST USED', value: (t) => formatTime(t.lastUsedAt) },
          { header: 'GRANT', value: (t) => t.grant },
        ],
        'No workload tokens.',
      ),
    );
  }
}
