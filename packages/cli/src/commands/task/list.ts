import { Flags } from '@oclif/core';
import { TASK_STATUSES, type Task, type TaskList } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { listSpec } from '../../output.ts';
import { TASK_LIST_COLUMNS } from '../../render/templates-format.ts';

export default class TaskListCommand extends BaseCommand<typeof TaskListCommand> {
  static override summary = 'List template tasks, newest first: yours, or with --all every one you may read.';
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    { description: 'Failed tasks, to retry.', command: '<%= config.bin %> <%= command.id %> --status=failed' },
    '<%= config.bin %> <%= command.id %> --all -o json',
  ];
  static override flags = {
    all: Flags.boolean({ summary: 'Every task you may read (admins: everyone’s), not only yours.' }),
    status: Flags.option({ options: TASK_STATUSES, summary: 'Only tasks with this status.' })(),
  };

  async run(): Promise<void> {
    const list = await this.api.tasks({
      createdBy: this.flags.all ? 'all' : 'me',
      ...(this.flags.status ? { status: this.flags.status } : {}),
    });
    await this.render(
      list,
      listSpec<TaskList, Task>(
        (l) => l.items,
        TASK_LIST_COLUMNS,
        this.flags.status
          ? `No ${this.flags.status} tasks.`
          : 'No tasks yet; start one with `idp create TEMPLATE` (`idp template:list` shows the templates).',
      ),
    );
  }
}
