import { Flags } from '@oclif/core';
import type { Deployment } from '@idp/contracts';
import type { DeploymentListResult } from '@idp/client';
import { displayRef } from '@idp/core/refs';
import { BaseCommand } from '../../base-command.ts';
import { formatKind } from '../../deploy-format.ts';
import { formatTime, listSpec, type Column } from '../../output.ts';

export default class DeployHistory extends BaseCommand<typeof DeployHistory> {
  static override summary =
    'List the deployments of a service, newest first: version, strategy (or `rollback to <version>`), status, reason, when and by whom.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> --service=payments-api --env=staging',
    { description: 'In every environment.', command: '<%= config.bin %> <%= command.id %> --service=payments-api' },
    '<%= config.bin %> <%= command.id %> --service=payments-api --env=staging --limit=5 -o json',
  ];
  static override flags = {
    service: Flags.string({ summary: 'The service, e.g. payments-api.', required: true }),
    env: Flags.string({ summary: 'Only this environment (default: every one, with an ENV column).' }),
    limit: Flags.integer({ min: 1, max: 200, summary: 'At most this many. Default: 20.' }),
  };

  async run(): Promise<void> {
    const { service, env, limit } = this.flags;
    const list = await this.api.listDeployments({ service, env, limit });
    const columns: Column<Deployment>[] = [
      { header: 'ID', value: (d) => d.id },
      ...(env ? [] : [{ header: 'ENV', value: (d: Deployment) => d.env }]),
      { header: 'VERSION', value: (d) => d.version },
      // A rollback says so (`rollback to <version>`), not the strategy of the release it returned to.
      { header: 'STRATEGY', value: (d) => formatKind(d) },
      { header: 'STATUS', value: (d) => d.status },
      { header: 'REASON', value: (d) => d.reason },
      { header: 'CREATED', value: (d) => formatTime(d.createdAt) },
      { header: 'BY', value: (d) => displayRef(d.createdBy) },
    ];
    await this.render(
      list,
      listSpec<DeploymentListResult, Deployment>(
        (l) => l.items,
        columns,
        `${service} has no deployments${env ? ` in ${env}` : ''}; deploy it with \`idp deploy --env=ENV\` in its repository.`,
      ),
    );
  }
}
