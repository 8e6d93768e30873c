import { Args, Flags } from '@oclif/core';
import { IdpError, type Deployment } from '@idp/contracts';
import { isFinished } from '../../deploy-format.ts';
import { RolloutCommand } from './rollout.ts';

export default class DeployStatus extends RolloutCommand<typeof DeployStatus> {
  static override summary =
    "Show a deployment (by id, or the latest of a service in an environment): status, reason, and each step's figures.";
  static override description = [
    'Without an ID it shows the latest deployment of --service in --env. With --watch it follows a rollout that is',
    "still going, printing step, weight, health and the canary's figures on stderr as they change, and exits like",
    '`idp deploy`: 0 when it ends healthy, 1 when it is rolled back, aborted or fails.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> dep_01JB2Z',
    {
      description: 'The latest deployment of payments-api in staging, followed until it ends.',
      command: '<%= config.bin %> <%= command.id %> --service=payments-api --env=staging --watch',
    },
    '<%= config.bin %> <%= command.id %> dep_01JB2Z -o json',
  ];
  static override args = {
    id: Args.string({ description: 'The deployment id (from `idp deploy` or `idp deploy:history`).' }),
  };
  static override flags = {
    service: Flags.string({ summary: 'Without ID: the service whose latest deployment to show.' }),
    env: Flags.string({ summary: 'Without ID: the environment.' }),
    watch: Flags.boolean({ summary: 'Follow it until it ends; exit 1 unless it ends healthy.' }),
  };

  async run(): Promise<void> {
    let deployment = await this.find();
    if (!this.flags.watch) {
      await this.show(deployment);
      return;
    }
    if (!isFinished(deployment)) {
      this.info(
        `Watching ${deployment.id}: ${deployment.service} ${deployment.version} in ${deployment.env} (${deployment.status})…`,
      );
      const final = await this.follow(deployment);
      if (!final) return;
      deployment = final;
    }
    await this.showOutcome(deployment);
  }

  private async find(): Promise<Deployment> {
    const { service, env } = this.flags;
    if (this.args.id) {
      if (service || env)
        throw new IdpError('USAGE', 'give either a deployment ID or --service and --env, not both', {
          hint: 'Run `idp deploy:status --help` to see its flags and examples.',
        });
      return this.api.getDeployment(this.args.id);
    }
    if (!service || !env) {
      throw new IdpError('USAGE', 'give a deployment ID, or --service and --env for the latest one', {
        hint: 'Run `idp deploy:status --help` to see its flags and examples.',
      });
    }
    const latest = (await this.api.listDeployments({ service, env, limit: 1 })).items[0];
    if (!latest) {
      throw new IdpError('DEPLOYMENT_NOT_FOUND', `${service} has never been deployed to ${env}`, {
        service,
        env,
        hint: `Deploy it with \`idp deploy --env=${env}\` in its repository.`,
      });
    }
    return latest;
  }
}
