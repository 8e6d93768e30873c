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

export class TaskProgress {
  readonly #started = new Set<string>();
  readonly #finished = new Set<string>();
  #steps: TaskStep[] = [];

  /** Lines for what changed since the last snapshot: steps that started, then finished. */
  update(task: Task): string[] {
    this.#steps = task.steps;
    const lines: string[] = [];
    for (const step of task.steps) {
      if (step.status === 'pending') continue;
      const key = attemptKey(step);
      if (step.status === 'skipped') {
        if (!this.#finished.has(key)) lines.push(skippedLine(step));
        this.#finished.add(key);
        continue;
      }
      // A step already finished when first seen (done before a retry) gets only its finish line.
      if (!this.#started.has(key) && !FINISHED.has(step.status)) lines.push(this.#startLine(step));
      this.#started.add(key);
      if (FINISHED.has(step.status) && !this.#finished.has(key)) {
        this.#finished.add(key);
        lines.push(finishLine(step));
      }
    }
    return lines;
  }

  /**
   * Whether `entry`'s step is known to be running; if not, read the task before printing it, so a
   * step's start line (or a new attempt's) comes before its lines.
   */
  knows(entry: TaskLogEntry): boolean {
    if (entry.step === null) return true;
    const step = this.#steps.find((s) => s.id === entry.step);
    if (step === undefined || !this.#started.has(attemptKey(step)) || FINISHED.has(step.status)) return false;
    // The runner's own "completed"/"failed" line: read the task now for the step's finish line.
    return runnerLine(entry, step) !== 'finish';
  }

  /** The log line, indented under its step; the step's start line first when not printed yet. */
  log(entry: TaskLogEntry): string[] {
    const lines: string[] = [];
    const step = entry.step === null ? undefined : this.#steps.find((s) => s.id === entry.step);
    if (step && step.status !== 'skipped' && !this.#started.has(attemptKey(step))) {
      this.#started.add(attemptKey(step));
      lines.push(this.#startLine(step));
    }
    // What the runner says of a step's start and finish, the start and finish lines already say.
    if (step ? runnerLine(entry, step) !== undefined : entry.step === null && entry.message === 'completed')
      return lines;
    const level = entry.level === 'info' ? '' : `${entry.level}: `;
    const by = entry.step === null ? '  ' : '    ';
    for (const line of entry.message.replace(/\s+$/, '').split('\n')) lines.push(`${by}${level}${line}`);
    return lines;
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
