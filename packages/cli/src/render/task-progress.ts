import type { Task, TaskLogEntry, TaskStep } from '@idp/contracts';
import { formatElapsed } from '../env-format.ts';

// A task followed live (idp create, idp task:retry): each step's start and finish with its time and
// status, the step's log lines indented under it, each printed once.

const FINISHED: ReadonlySet<TaskStep['status']> = new Set(['completed', 'failed', 'skipped', 'cancelled']);
const MARKS: Record<TaskStep['status'], string> = {
  pending: '·',
  running: '▸',
  completed: '✓',
  failed: '✗',
  skipped: '-',
  cancelled: '✗',
};

/**
 * Driven by the log, which the runner writes in order (a step's start, its lines, its finish):
 * a step's start line comes with its first log line, its finish line (status and time from the
 * task) with the runner's own finish line or a later read of the task; the runner's own
 * start/finish lines are not repeated. Steps finished before (a retry) show once, at the top.
 */
export class TaskProgress {
  readonly #started = new Set<string>();
  readonly #finished = new Set<string>();
  #steps: TaskStep[] = [];
  #first = true;

  /**
   * A fresh snapshot of the task, which may be ahead of the log read so far: it prints nothing
   * then (the log closes steps in order), except on the first snapshot the steps already done
   * (a retry), and on the `final` snapshot (the task ended, its whole log read) every finished
   * step not shown yet.
   */
  update(task: Task, final = taskEnded(task)): string[] {
    return this.#apply(task.steps, final);
  }

  /** A finished run's log replayed as it would have been followed (a dry run). */
  static replay(steps: TaskStep[], log: readonly TaskLogEntry[]): string[] {
    const progress = new TaskProgress();
    progress.#steps = steps;
    progress.#first = false;
    return [...log.flatMap((entry) => progress.log(entry)), ...progress.#apply(steps, true)];
  }

  #apply(steps: TaskStep[], ended: boolean): string[] {
    this.#steps = steps;
    let leading = this.#first;
    this.#first = false;
    const lines: string[] = [];
    for (const step of steps) {
      if (step.status !== 'completed' && step.status !== 'skipped') leading = false;
      const key = attemptKey(step);
      if (!FINISHED.has(step.status) || this.#finished.has(key)) continue;
      if (leading || ended) lines.push(...this.#finish(step));
    }
    return lines;
  }

  /**
   * Whether the last snapshot is enough to print `entry`; if not, read the task first (a step not
   * seen started, for its name and attempt; the runner's finish line, for the step's status and time).
   */
  knows(entry: TaskLogEntry): boolean {
    if (entry.step === null) return true;
    const step = this.#steps.find((s) => s.id === entry.step);
    if (step === undefined) return false;
    if (runnerLine(entry, step) === 'finish') return FINISHED.has(step.status);
    // A line of a step the task says has finished may be its next attempt's.
    return this.#started.has(attemptKey(step)) && !FINISHED.has(step.status);
  }

  /** The log line, indented under its step; the step's start line first when not printed yet. */
  log(entry: TaskLogEntry): string[] {
    const lines: string[] = [];
    const index = entry.step === null ? -1 : this.#steps.findIndex((s) => s.id === entry.step);
    const step = this.#steps[index];
    if (step) {
      // Steps run one after another: an earlier one that has finished is closed first.
      for (const earlier of this.#steps.slice(0, index)) {
        const key = attemptKey(earlier);
        if (this.#started.has(key) && !this.#finished.has(key) && FINISHED.has(earlier.status)) {
          lines.push(...this.#finish(earlier));
        }
      }
      const key = attemptKey(step);
      if (!this.#started.has(key) && !this.#finished.has(key) && step.status !== 'skipped') {
        this.#started.add(key);
        lines.push(this.#startLine(step));
      }
      const runner = runnerLine(entry, step);
      if (runner === 'finish' && FINISHED.has(step.status) && !this.#finished.has(key))
        lines.push(...this.#finish(step));
      // What the runner says of a step's start and finish, the start and finish lines already say.
      if (runner !== undefined) return lines;
    } else if (entry.step === null && entry.message === 'completed') {
      return lines;
    }
    const level = entry.level === 'info' ? '' : `${entry.level}: `;
    const by = step ? '    ' : '  ';
    for (const line of entry.message.replace(/\s+$/, '').split('\n')) lines.push(`${by}${level}${line}`);
    return lines;
  }

  #finish(step: TaskStep): string[] {
    const key = attemptKey(step);
    this.#started.add(key);
    this.#finished.add(key);
    return [step.status === 'skipped' ? skippedLine(step) : finishLine(step)];
  }

  #startLine(step: TaskStep): string {
    const index = this.#steps.indexOf(step) + 1;
    const of = this.#steps.length;
    const what = step.name && step.name !== step.id ? `${step.name} (${step.action})` : step.action;
    const retried = step.attempts > 1 ? ` (attempt ${step.attempts})` : '';
    return `${MARKS.running} [${index}/${of}] ${step.id}: ${what}${retried}`;
  }
}

/** The task runner's own lines about a step: `<name>: <action> started`, `<name>: completed`, `<name>: failed: …`. */
function runnerLine(entry: TaskLogEntry, step: TaskStep): 'start' | 'finish' | undefined {
  if (entry.step !== step.id) return undefined;
  const label = step.name ?? step.id;
  if (entry.message === `${label}: ${step.action} started`) return 'start';
  if (entry.message === `${label}: completed` || entry.message === 'skipped: its if is false') return 'finish';
  if (entry.level === 'error' && entry.message.startsWith(`${label}: failed: `)) return 'finish';
  return undefined;
}

function finishLine(step: TaskStep): string {
  const time = step.durationMs === null ? '' : `  ${formatElapsed(step.durationMs)}`;
  const error = step.error ? `  ${step.error.code}: ${step.error.message.split('\n')[0]}` : '';
  return `${MARKS[step.status]} ${step.id} ${step.status}${time}${error}`;
}

function skippedLine(step: TaskStep): string {
  return `${MARKS.skipped} ${step.id} skipped (its if is false)`;
}

/** A step's attempt (a step seen pending, at 0 attempts, is about to start its first). */
function attemptKey(step: TaskStep): string {
  return `${step.id}\u0000${Math.max(1, step.attempts)}`;
}

/** Whether the task has ended (nothing more will happen until a retry). */
export function taskEnded(task: Task): boolean {
  return task.status === 'completed' || task.status === 'failed' || task.status === 'cancelled';
}
