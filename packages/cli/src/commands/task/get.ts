import { Args } from '@oclif/core';
import type { Task } from '@idp/contracts';
import { BaseCommand } from '../../base-command.ts';
import { formatTask } from '../../render/templates-format.ts';

export default class TaskGet extends BaseCommand<typeof TaskGet> {
  static override summary =
    'Show a task: its template, status and error, each step with its status, attempts, duration and error, and its output.';
  static override examples = [
    '<%= config.bin %> <%= command.id %> task_3fK9x2mQa1',
    '<%= config.bin %> <%= command.id %> task_3fK9x2mQa1 -o json',
  ];
  static override args = {
    id: Args.string({ description: 'The task id (`idp task:list`).', required: true }),
  };

  async run(): Promise<void> {
    await this.render<Task>(await this.api.task(this.args.id), { kind: 'text', text: formatTask });
  }
}
