import { Args, Flags } from '@oclif/core';
import type { Environment } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { environmentView, formatEnvironment, StepReporter } from '../../env-format.ts';

const SETTLED: ReadonlySet<Environment['status']> = new Set(['ready', 'failed', 'deleted']);

export default class EnvGet extends BaseCommand<typeof EnvGet> {
  static override summary =
    'Show an environment: resources, endpoints (never passwords), age, expiry and its steps with their times.';
  static override description = [
    'With --watch it follows an environment that is being created or deleted, printing each step on stderr as',
    'it finishes, until it is ready, failed or deleted. After a delete has finished it shows the last record,',
    'with status deleted. Passwords come only from `idp env:connect`.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> feature-payments',
    {
      description: 'Follow it until it is ready.',
      command: '<%= config.bin %> <%= command.id %> feature-payments --watch',
    },
    '<%= config.bin %> <%= command.id %> staging -o yaml',
  ];
  static override args = {
    name: Args.string({ description: 'The environment, e.g. feature-payments.', required: true }),
  };
  static override flags = {
    watch: Flags.boolean({
      summary: 'Follow it until it is ready, failed or deleted, printing each step as it finishes.',
    }),
  };

  async run(): Promise<void> {
    let env = await this.api.getEnvironment(this.args.name);
    if (this.flags.watch && !SETTLED.has(env.status)) {
      this.info(`Watching ${env.name} (${env.status})…`);
      const steps = new StepReporter((line) => this.info(line));
      steps.update(env);
      env = await this.api.watchEnvironment(env.name, {
        until: (e) => SETTLED.has(e.status),
        onUpdate: (e) => steps.update(e),
      });
      this.info(`${env.name} is ${env.status}.`);
    }
    await this.render(environmentView(env), { kind: 'text', text: () => formatEnvironment(env, { detailed: true }) });
    if (this.flags.watch && env.status === 'failed') process.exitCode = 1;
  }
}
