import { Flags } from '@oclif/core';
import type { Environment } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { environmentFailed, environmentView, formatEnvironment, isDeleteStep, StepReporter } from '../../env-format.ts';

export default class EnvCreate extends BaseCommand<typeof EnvCreate> {
  static override summary =
    'Create an environment of your own by cloning a base environment (staging): namespace, database, Redis keys and secrets.';
  static override description = [
    "You become its owner. It gets a runtime namespace, a PostgreSQL database with the source's schema and data",
    "(and its own role), the source's Redis keys in an isolated keyspace, and a copy of the source's secrets",
    '(with --secrets=placeholders, only their names, each holding the value `placeholder`).',
    'By default the command waits and prints each step on stderr as it finishes, with its time, then the',
    'environment on stdout; --no-wait returns as soon as the request is recorded (follow it with',
    '`idp env:get NAME --watch`). The policies set the default and maximum --ttl and how many environments',
    'you may have; a reaper deletes it when it expires (`idp env:extend` gives it more time).',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> --name=feature-payments --from=staging',
    {
      description: 'For three days, without waiting.',
      command: '<%= config.bin %> <%= command.id %> --name=feature-payments --from=staging --ttl=3d --no-wait',
    },
    {
      description: "With the source's secret names only, each holding a placeholder value (for untrusted code).",
      command: '<%= config.bin %> <%= command.id %> --name=fork-test --from=staging --secrets=placeholders',
    },
    {
      description: 'As JSON, for a script.',
      command: '<%= config.bin %> <%= command.id %> --name=feature-payments --from=staging -o json',
    },
  ];
  static override flags = {
    name: Flags.string({
      summary: 'Its name: a DNS-1123 label of at most 40 characters, e.g. feature-payments.',
      required: true,
    }),
    from: Flags.string({ summary: 'The base environment to clone, e.g. staging.', required: true }),
    ttl: Flags.string({ summary: "How long it lives, e.g. 2h or 7d. Default: the server's (7d)." }),
    secrets: Flags.string({
      summary:
        "copy (default): the source's secrets with their values; placeholders: every secret name of the source with the value `placeholder`, none of its values.",
      options: ['copy', 'placeholders'],
    }),
    wait: Flags.boolean({
      default: true,
      allowNo: true,
      summary: 'Wait until it is ready, printing each step (--no-wait returns at once).',
    }),
  };

  async run(): Promise<void> {
    const { name, from, ttl, wait, secrets } = this.flags;
    let env = await this.api.createEnvironment({
      name,
      from,
      ...(ttl ? { ttl } : {}),
      ...(secrets ? { secrets: secrets as 'copy' | 'placeholders' } : {}),
    });
    if (!wait) {
      this.info(
        `Creating ${env.name} from ${from} in the background; follow it with \`idp env:get ${env.name} --watch\`.`,
      );
      await this.show(env);
      return;
    }

    this.info(`Creating ${env.name} from ${from}…`);
    const steps = new StepReporter(
      (line) => this.info(line),
      (step) => !isDeleteStep(step),
    );
    steps.update(env);
    env = await this.api.watchEnvironment(env.name, {
      until: (e) => e.status !== 'provisioning',
      onUpdate: (e) => steps.update(e),
    });
    await this.show(env);
    if (env.status !== 'ready') throw environmentFailed(env, 'provisioning');
    this.info(
      `${env.name} is ready${env.provisioningMs === null ? '' : ` (${environmentView(env).provisioning_time})`}.`,
    );
  }

  private async show(env: Environment): Promise<void> {
    await this.render(environmentView(env), { kind: 'text', text: () => formatEnvironment(env) });
  }
}
