import { Args } from '@oclif/core';
import { formatOutcome, formatProgress, isFinished } from '../../deploy-format.ts';
import { RolloutCommand } from './rollout.ts';

export default class DeployPromote extends RolloutCommand<typeof DeployPromote> {
  static override summary = 'Move a paused canary on to its next step (a step without a pause waits for this).';
  static override description = [
    "Ends the current step now: the rollout sets the next step's weight, or promotes the new release to all",
    'traffic after the last one. Health checks and the error-rate rollback keep guarding every step.',
  ].join(' ');
  static override examples = ['<%= config.bin %> <%= command.id %> dep_01JB2Z'];
  static override args = {
    id: Args.string({ description: 'The deployment id.', required: true }),
  };

  async run(): Promise<void> {
    const recorded = await this.api.promoteDeployment(this.args.id);
    // Shown once the rollout has moved on: a later step, or the end.
    const deployment = await this.afterApplied(
      recorded,
      (d) => isFinished(d) || d.step !== recorded.step || d.weight !== recorded.weight,
    );
    this.info(
      isFinished(deployment) ? formatOutcome(deployment) : `Promoted ${deployment.id}: ${formatProgress(deployment)}`,
    );
    await this.show(deployment);
  }
}
