import { Flags } from '@oclif/core';
import type { WorkloadToken } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { formatRecord, formatTime } from '../../output.ts';

export default class SecretToken extends BaseCommand<typeof SecretToken> {
  static override summary =
    "Issue a workload token that reads one environment's secrets of one service through the Vault-compatible API.";
  static override description = [
    'Any Vault KV v2 client reads them with it: VAULT_ADDR=<idp url>, VAULT_TOKEN=<token>, path secret/data/<env>/<service>.',
    'For the owning team and platform admins. In production it needs an access grant for <env>/<service>/*',
    '(`idp access:request --secret "production/payments-api/*"`), and the token ends with that grant.',
    'The token is printed once and stored only as a hash.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> --env staging --service payments-api',
    {
      description: 'As JSON, for a deploy script.',
      command: '<%= config.bin %> <%= command.id %> --env staging --service payments-api --ttl 12h -o json',
    },
  ];
  static override flags = {
    env: Flags.string({ summary: 'The environment, e.g. staging.', required: true }),
    service: Flags.string({ summary: 'The service, e.g. payments-api.', required: true }),
    ttl: Flags.string({ summary: 'Lifetime such as 30m, 1h (default) or 7d; the policies set the maximum (30d).' }),
  };

  async run(): Promise<void> {
    const { env, service, ttl } = this.flags;
    const token = await this.api.createWorkloadToken({ env, service, ...(ttl ? { ttl } : {}) });
    await this.render<WorkloadToken>(token, {
      kind: 'text',
      text: (t) =>
        `${t.token}\n\n${formatRecord([
          ['ID', t.id],
          ['Scope', `${t.env}/${t.service}`],
          ['Expires', formatTime(t.expiresAt)],
          ['Bound to grant', t.grant],
          ['Vault path', `secret/data/${t.env}/${t.service}`],
        ])}`,
    });
    this.info(
      "This token is shown only once. Workloads send it as X-Vault-Token (VAULT_TOKEN) to this control plane's URL (VAULT_ADDR).",
    );
  }
}
