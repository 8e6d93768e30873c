import { Args, Flags } from '@oclif/core';
import { TaskFollowingCommand } from '../../task-command.ts';

export default class TaskRetry extends TaskFollowingCommand<typeof TaskRetry> {
  static override summary =
    'Run a failed or cancelled task again from the step it stopped at; finished steps are not redone.';
  static override description = [
    'Fix what made the step fail first (`idp task:logs ID` says what it was). The task keeps its id and values;',
    'like `idp create`, the command follows it, printing each step as it runs, and exits 0 when it completes',
    'and 1 when a step fails again. --no-wait returns at once.',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> task_3fK9x2mQa1',
    '<%= config.bin %> <%= command.id %> task_3fK9x2mQa1 --no-wait',
  ];
  static override args = {
    id: Args.string({ description: 'The task id (`idp task:list --status=failed`).', required: true }),
  };
  static override flags = {
    wait: Flags.boolean({
      default: true,
      allowNo: true,
      summary: 'Follow the task until it ends (--no-wait prints its id and returns).',
    }),
  };

  async run(): Promise<void> {
    // Only the lines of this run are followed: the earlier ones are in `idp task:logs`.
    const before = await this.api.taskLogs(this.args.id);
    const after = before.items.reduce((max, entry) => Math.max(max, entry.seq), 0);
    const task = await this.api.retryTask(this.args.id);
    if (!this.flags.wait) return this.startedInBackground(task);
    await this.followToEnd(task, after);
  }
}
