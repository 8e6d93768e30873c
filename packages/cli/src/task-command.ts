import type { Command } from '@oclif/core';
import { ERROR_CODES, IdpError, isErrorCode, type ErrorCode, type Task } from '@idp/contracts';
import { displayRef } from '@idp/core/refs';
import { BaseCommand } from './base-command.ts';
import { formatElapsed } from './env-format.ts';
import { taskEnded, TaskProgress } from './render/task-progress.ts';
import { formatTaskOutput } from './render/templates-format.ts';
import { followTask } from './task-follow.ts';

/**
 * What `idp create` and `idp task:retry` share: follow a task live on stderr (each step's start
 * and finish, its log lines under it), then its output on stdout; exit 0 when it completed, 1
 * when it failed (naming the step, with the retry to run) or was cancelled.
 */
export abstract class TaskFollowingCommand<T extends typeof Command> extends BaseCommand<T> {
  /** --no-wait: say how to follow it and print the task id (or the task, with -o json/yaml). */
  protected async startedInBackground(task: Task): Promise<void> {
    this.info(
      `Task ${task.id} (${displayRef(task.template)}) runs in the background; follow it with \`idp task:logs ${task.id} --follow\`.`,
    );
    await this.render(task, { kind: 'text', text: () => task.id });
  }

  /** Follows the task to its end (or Ctrl-C), then reports it. */
  protected async followToEnd(task: Task, after = 0): Promise<void> {
    const progress = new TaskProgress();
    const write = (lines: string[]) => lines.forEach((line) => this.info(line));
    const abort = new AbortController();
    const stop = () => abort.abort();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    this.info(
      `Task ${task.id}: ${displayRef(task.template)}, ${task.steps.length} steps (Ctrl-C stops following; the task goes on).`,
    );
    let final: Task;
    try {
      final = await followTask(
        this.api,
        task,
        {
          task: (t, final) => write(progress.update(t, final)),
          log: (entry) => write(progress.log(entry)),
          needsTask: (entry) => !progress.knows(entry),
          info: (line) => this.info(line),
        },
        { after, signal: abort.signal },
      );
    } finally {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    }
    if (!taskEnded(final)) {
      this.info(
        `Stopped following; task ${final.id} goes on (\`idp task:get ${final.id}\`, \`idp task:logs ${final.id} --follow\`).`,
      );
      await this.render(final, { kind: 'text', text: () => final.id });
      return;
    }
    await this.render(final, { kind: 'text', text: () => formatTaskOutput(final.output) });
    if (final.status === 'failed') throw taskFailed(final);
    if (final.status === 'cancelled') throw taskCancelled(final);
    this.info(`✓ Task ${final.id} completed${tookOf(final)}.`);
  }
}

/** The task's failure as the error the CLI exits with (1): the step, its code and message, and the retry. */
export function taskFailed(task: Task): IdpError {
  const error = task.error;
  const code = failureCode(error?.code);
  const where = error?.step ? ` at step ${error.step}` : '';
  const what = error ? `${error.code === code ? '' : `${error.code}: `}${error.message}` : 'no reason recorded';
  return new IdpError(code, `task ${task.id} failed${where}: ${what}`, {
    task: task.id,
    ...(error?.step ? { step: error.step } : {}),
    hint: `Read its log (\`idp task:logs ${task.id}\`), fix the cause, then run \`idp task:retry ${task.id}\`: it starts again from ${error?.step ? `step ${error.step}` : 'the step that failed'}; finished steps are not redone.`,
  });
}

/** A step's error code when it is one of ours that exits 1 (a failed task always does), else TEMPLATE_ACTION_FAILED. */
export function failureCode(code: string | undefined): ErrorCode {
  return code !== undefined && isErrorCode(code) && ERROR_CODES[code].exit === 1 ? code : 'TEMPLATE_ACTION_FAILED';
}

function taskCancelled(task: Task): IdpError {
  const at = task.steps.find((s) => s.status === 'cancelled' || s.status === 'pending');
  return new IdpError('TASK_CANCELLED', `task ${task.id} was cancelled${at ? ` at step ${at.id}` : ''}`, {
    task: task.id,
    hint: `Run \`idp task:retry ${task.id}\` to run it again from there; finished steps are not redone.`,
  });
}

function tookOf(task: Task): string {
  if (!task.finishedAt) return '';
  return ` in ${formatElapsed(Date.parse(task.finishedAt) - Date.parse(task.createdAt))}`;
}
