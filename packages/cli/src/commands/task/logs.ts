import { Args, Flags } from '@oclif/core';
import type { Task, TaskLog } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { formatTaskLogLine } from '../../render/templates-format.ts';
import { taskEnded } from '../../render/task-progress.ts';
import { followTask } from '../../task-follow.ts';

export default class TaskLogs extends BaseCommand<typeof TaskLogs> {
  static override summary = "A task's log, `<time> <step> <level> <message>`; with --follow, until the task ends.";
  static override description = [
    'Lines of the task itself have `-` as their step. With --follow it prints the lines written so far, then',
    'each new one as it is written, and stops when the task ends (or at Ctrl-C; the task goes on). -o json',
    'prints the log as the API gives it (with --follow: one JSON line per entry).',
  ].join(' ');
  static override examples = [
    '<%= config.bin %> <%= command.id %> task_3fK9x2mQa1',
    '<%= config.bin %> <%= command.id %> task_3fK9x2mQa1 --follow',
  ];
  static override args = {
    id: Args.string({ description: 'The task id (`idp task:list`).', required: true }),
  };
  static override flags = {
    follow: Flags.boolean({ char: 'f', summary: 'Keep printing lines as they are written, until the task ends.' }),
  };

  async run(): Promise<void> {
    if (this.flags.follow) return this.follow();
    const log = await this.api.taskLogs(this.args.id);
    await this.render<TaskLog>(log, {
      kind: 'text',
      text: (l) => l.items.map((entry) => `${formatTaskLogLine(entry)}\n`).join(''),
    });
    if (this.outputFormat === 'table' && log.items.length === 0)
      this.info(`Task ${this.args.id} has no log lines yet.`);
  }

  private async follow(): Promise<void> {
    const task = await this.api.task(this.args.id);
    const structured = this.outputFormat !== 'table';
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    let final: Task;
    try {
      final = await followTask(
        this.api,
        task,
        {
          task: () => {},
          log: (entry) => process.stdout.write(`${structured ? JSON.stringify(entry) : formatTaskLogLine(entry)}\n`),
          info: (line) => this.info(line),
        },
        { signal: abort.signal },
      );
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    if (taskEnded(final)) this.info(`Task ${final.id} ${final.status}.`);
  }
}
