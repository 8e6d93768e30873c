import { Args } from '@oclif/core';
import { formatOutcome, isFinished } from '../../deploy-format.ts';
import { RolloutCommand } from './rollout.ts';

export default class DeployAbort extends RolloutCommand<typeof DeployAbort> {
  static override summary = 'Stop a rollout: all traffic goes back to the stable release and the new one is stopped.';
  static override description =
    'The deployment ends as aborted; the stable release never stops serving. Only a rollout that is still going can be aborted.';
  static override examples = ['<%= config.bin %> <%= command.id %> dep_01JB2Z'];
  static override args = {
    id: Args.string({ description: 'The deployment id.', required: true }),
  };

  async run(): Promise<void> {
    // Shown once the rollout has ended (aborted, or whatever it reached first).
    const deployment = await this.afterApplied(await this.api.abortDeployment(this.args.id), isFinished);
    this.info(
      isFinished(deployment)
        ? formatOutcome(deployment)
        : `Aborting ${deployment.id}; traffic goes back to ${deployment.previousVersion ?? 'the stable release'}.`,
    );
    await this.show(deployment);
  }
}
