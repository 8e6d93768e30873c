import { Flags } from '@oclif/core';
import { formatStart } from '../deploy-format.ts';
import { RolloutCommand } from './deploy/rollout.ts';

export default class Rollback extends RolloutCommand<typeof Rollback> {
  static override summary =
    'Return a service in an environment to an earlier healthy version, following the rollout like `idp deploy`.';
  static override description = [
    'Without --to it goes back to the version that was healthy before the current one. The earlier release is',
    'rolled out again (no rebuild); exit 0 when it ends healthy, 1 otherwise. --no-wait prints the deployment id.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> --service=payments-api --env=staging',
    {
      description: 'To a given version (see `idp deploy:history`).',
      command:
        '<%= config.bin %> <%= command.id %> --service=payments-api --env=staging --to=7761f2bbd4ec-443679efa03c',
    },
  ];
  static override flags = {
    service: Flags.string({ summary: 'The service, e.g. payments-api.', required: true }),
    env: Flags.string({ summary: 'The environment, e.g. staging.', required: true }),
    to: Flags.string({ summary: 'The version to return to; default the last healthy one before the current.' }),
    wait: Flags.boolean({
      default: true,
      allowNo: true,
      summary: 'Follow the rollout until it ends (--no-wait prints the deployment id at once).',
    }),
  };

  async run(): Promise<void> {
    const { service, env, to, wait } = this.flags;
    const deployment = await this.api.rollback({ service, env, ...(to ? { to } : {}) });
    if (!wait) {
      this.info(
        `Rolling ${service} in ${env} back to ${deployment.version}; follow it with \`idp deploy:status ${deployment.id} --watch\`.`,
      );
      await this.render(deployment, { kind: 'text', text: () => deployment.id });
      return;
    }
    this.info(formatStart(deployment));
    const final = await this.follow(deployment);
    if (final) await this.showOutcome(final);
  }
}
