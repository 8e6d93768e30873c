import type { Command } from '@oclif/core';
import type { Deployment } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { followRollout, formatDeployment, formatOutcome, outcomeExitCode } from '../../deploy-format.ts';
import { formatDeployLogTail } from '../../deploy-format-log-tail.ts';

/**
 * Shared by the commands that follow a rollout (deploy, rollback, deploy:status --watch); not a
 * command itself. Progress goes to stderr, the final deployment to stdout, and the exit code
 * says how it ended.
 */
export abstract class RolloutCommand<T extends typeof Command> extends BaseCommand<T> {
  /**
   * Follows the rollout until it has finished. Ctrl-C stops only the following (exit 130) and
   * says how to pick it up again: the rollout runs on the server either way.
   */
  protected async follow(deployment: Deployment): Promise<Deployment | undefined> {
    const controller = new AbortController();
    const stop = () => controller.abort();
    process.once('SIGINT', stop);
    try {
      const final = await followRollout(this.api, deployment, (line) => this.info(line), { signal: controller.signal });
      if (!final) {
        this.info(
          `Stopped following; the rollout goes on. Follow it again with \`idp deploy:status ${deployment.id} --watch\`, or stop it with \`idp deploy:abort ${deployment.id}\`.`,
        );
        process.exitCode = 130;
      }
      return final;
    } finally {
      process.off('SIGINT', stop);
    }
  }

  /**
   * The server answers promote/abort once recorded; the rollout applies them on its next tick.
   * Re-reads (bounded: a few seconds) until `applied` holds, so the command shows the state after
   * the action; if the runner is slower, the latest state read is shown.
   */
  protected async afterApplied(
    deployment: Deployment,
    applied: (d: Deployment) => boolean,
    timeoutMs = 5000,
  ): Promise<Deployment> {
    const until = Date.now() + timeoutMs;
    let latest = deployment;
    while (!applied(latest) && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      latest = await this.api.getDeployment(deployment.id);
    }
    return latest;
  }

  /** The deployment on stdout, how it ended on stderr; exit 1 unless it is healthy. */
  protected async showOutcome(deployment: Deployment): Promise<void> {
    await this.show(deployment);
    this.info(formatOutcome(deployment));
    const tail = formatDeployLogTail(deployment);
    if (tail) this.info(tail);
    process.exitCode = outcomeExitCode(deployment);
  }

  protected async show(deployment: Deployment): Promise<void> {
    await this.render(deployment, { kind: 'text', text: () => formatDeployment(deployment) });
  }
}
