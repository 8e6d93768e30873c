import { Args, Flags } from '@oclif/core';
import { IdpError, type Environment } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { environmentFailed, environmentView, formatEnvironment, isDeleteStep, StepReporter } from '../../env-format.ts';

export default class EnvDelete extends BaseCommand<typeof EnvDelete> {
  static override summary =
    'Delete an environment and everything it made: database and role, Redis keys and user, secrets, namespace and what runs in it.';
  static override description = [
    'Waits until everything is gone, printing each step on stderr as it finishes; --no-wait returns once the',
    'delete is recorded. A failed environment can be deleted too: whatever it had made is removed.',
    'Base environments (from the config) cannot be deleted.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> feature-payments',
    '<%= config.bin %> <%= command.id %> feature-payments --no-wait',
  ];
  static override args = {
    name: Args.string({ description: 'The environment, e.g. feature-payments.', required: true }),
  };
  static override flags = {
    wait: Flags.boolean({
      default: true,
      allowNo: true,
      summary: 'Wait until it is deleted, printing each step (--no-wait returns at once).',
    }),
  };

  async run(): Promise<void> {
    let env = await this.api.deleteEnvironment(this.args.name);
    if (!this.flags.wait) {
      this.info(`Deleting ${env.name} in the background; follow it with \`idp env:get ${env.name} --watch\`.`);
      await this.show(env);
      return;
    }

    this.info(`Deleting ${env.name}…`);
    const steps = new StepReporter((line) => this.info(line), isDeleteStep);
    steps.update(env);
    let last: Environment = env;
    try {
      env = await this.api.watchEnvironment(env.name, {
        until: (e) => e.status === 'deleted' || e.status === 'failed',
        onUpdate: (e) => {
          last = e;
          steps.update(e);
        },
      });
    } catch (err) {
      // A server that keeps no record of deleted environments answers not found: that is gone too.
      if (!(err instanceof IdpError && err.code === 'ENV_NOT_FOUND')) throw err;
      env = { ...last, status: 'deleted' };
    }
    await this.show(env);
    if (env.status !== 'deleted') throw environmentFailed(env, 'deleting');
    this.info(`${env.name} is deleted.`);
  }

  private async show(env: Environment): Promise<void> {
    await this.render(environmentView(env), { kind: 'text', text: () => formatEnvironment(env) });
  }
}
