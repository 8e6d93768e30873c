import { Args } from '@oclif/core';
import type { Task } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { formatTask } from '../../render/templates-format.ts';

export default class TaskCancel extends BaseCommand<typeof TaskCancel> {
  static override summary =
    'Cancel a task that is open or running: the step running is stopped, finished steps stay done.';
  static override description = 'A cancelled task can be run again from where it stopped with `idp task:retry ID`.';
  static override examples = ['<%= config.bin %> <%= command.id %> task_3fK9x2mQa1'];
  static override args = {
    id: Args.string({ description: 'The task id (`idp task:list`).', required: true }),
  };

  async run(): Promise<void> {
    const task = await this.api.cancelTask(this.args.id);
    this.info(`Cancelling task ${task.id} (${task.status}).`);
    await this.render<Task>(task, { kind: 'text', text: formatTask });
  }
}
