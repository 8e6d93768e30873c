// Running tasks in the background, durably: every step's start, end, output and checkpoint is
// written as it happens, so a restart resumes a task at its first step not completed (a step
// that was running runs again; actions are idempotent through their checkpoint).
import { EventEmitter } from 'node:events';
import type { Principal, TaskLogEntry } from '@idp/contracts';
import type { AuditLog } from '../../audit/index.ts';
import type { Clock } from '../../clock.ts';
import type { SecretCipher } from '../secrets/crypto.ts';
import { emptyCheckpoint, runSteps, stepError, type RunSink, type RunnerDeps, type StepState } from './runner.ts';
import type { TaskRow, TaskStore } from './store.ts';
import { Redactor, openSecrets } from './task-secrets.ts';
import { logView } from './task-view.ts';
import { makeWorkspace, removeWorkspace } from './task-workspace.ts';
import { readTemplate, type TemplateCatalog } from './templates-catalog.ts';

export interface TaskJobsDeps extends RunnerDeps {
  store: TaskStore;
  audit: AuditLog;
  clock: Clock;
  cipher: SecretCipher;
  catalog: TemplateCatalog;
  principalFor: (userRef: string) => Principal;
  workspaces: string;
  log: (line: string) => void;
}

interface Job {
  controller: AbortController;
  cancel: boolean;
  done: Promise<void>;
}

/** Tasks running at once; more wait (open) in order. */
export const MAX_RUNNING = 8;

const parse = <T>(text: string | null, fallback: T): T => (text ? (JSON.parse(text) as T) : fallback);

export class TaskJobs {
  private readonly jobs = new Map<string, Job>();
  /** Tasks waiting for one of the MAX_RUNNING slots, oldest first. */
  private queue: string[] = [];
  private readonly events = new EventEmitter();
  private stopped = false;

  constructor(private readonly deps: TaskJobsDeps) {
    this.events.setMaxListeners(0);
  }

  /** Log lines as they are written and the task's end, for followers. */
  onLog(taskId: string, fn: (entry: TaskLogEntry) => void): () => void {
    this.events.on(`log:${taskId}`, fn);
    return () => this.events.off(`log:${taskId}`, fn);
  }

  onEnd(taskId: string, fn: () => void): () => void {
    this.events.on(`end:${taskId}`, fn);
    return () => this.events.off(`end:${taskId}`, fn);
  }

  running(taskId: string): boolean {
    return this.jobs.has(taskId);
  }

  /** Runs the task now, or once one of the MAX_RUNNING tasks running ends. */
  schedule(taskId: string): void {
    if (this.stopped || this.jobs.has(taskId) || this.queue.includes(taskId)) return;
    if (this.jobs.size >= MAX_RUNNING) {
      this.queue.push(taskId);
      return;
    }
    const job: Job = { controller: new AbortController(), cancel: false, done: Promise.resolve() };
    this.jobs.set(taskId, job);
    job.done = this.run(taskId, job)
      .catch((err: Error) => this.deps.log(`templates: task ${taskId} stopped on an internal error: ${err.message}`))
      .finally(() => {
        this.jobs.delete(taskId);
        this.events.emit(`end:${taskId}`);
        const next = this.queue.shift();
        if (next) this.schedule(next);
      });
  }

  /**
   * Asks a running task to stop: its action's signal is aborted, the rest is marked cancelled
   * (true). A task waiting for its turn is taken out of the queue (false: cancelIdle marks it).
   */
  cancel(taskId: string): boolean {
    const job = this.jobs.get(taskId);
    this.queue = this.queue.filter((id) => id !== taskId);
    if (!job) return false;
    job.cancel = true;
    job.controller.abort(new Error('the task was cancelled'));
    return true;
  }

  /** Marks a task that is not running here cancelled, with its steps left. */
  async cancelIdle(taskId: string): Promise<void> {
    const row = await this.deps.store.get(taskId);
    if (!row || (row.status !== 'open' && row.status !== 'processing')) return;
    await this.finishCancelled(row, async (step, level, message) => {
      const entry = await this.deps.store.appendLog(taskId, { at: this.now(), step, level, message });
      if (entry) this.events.emit(`log:${taskId}`, logView(entry));
    });
    this.events.emit(`end:${taskId}`);
  }

  /** Resumes what a previous process left open or processing. */
  async resume(): Promise<number> {
    // Not those this process already runs (created between listening and this call).
    const rows = (await this.deps.store.unfinished()).filter((r) => !this.jobs.has(r.id) && !this.queue.includes(r.id));
    for (const r of rows) {
      this.deps.log(`templates: resuming task ${r.id} (${r.template_ref})`);
      const entry = await this.deps.store.appendLog(r.id, {
        at: this.now(),
        step: null,
        level: 'warn',
        message: 'resumed after a restart of the control plane: from the first step not completed',
      });
      if (entry) this.events.emit(`log:${r.id}`, logView(entry));
      this.schedule(r.id);
    }
    return rows.length;
  }

  async idle(): Promise<void> {
    while (this.jobs.size) await Promise.allSettled([...this.jobs.values()].map((j) => j.done));
  }

  /** Stops every job where it is (the next start resumes them). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.queue = [];
    for (const job of this.jobs.values()) job.controller.abort(new Error('the control plane is stopping'));
    await this.idle();
  }

  private now(): string {
    return this.deps.clock.now().toISOString();
  }

  private async run(taskId: string, job: Job): Promise<void> {
    const { store } = this.deps;
    const row = await store.get(taskId);
    if (!row || (row.status !== 'open' && row.status !== 'processing')) return;
    if (row.cancel_requested) job.cancel = true;
    let redactor = new Redactor({});
    const log = async (step: string | null, level: 'info' | 'warn' | 'error', message: string) => {
      const entry = await store.appendLog(taskId, { at: this.now(), step, level, message: redactor.text(message) });
      if (entry) this.events.emit(`log:${taskId}`, logView(entry));
    };
    try {
      const template = readTemplate(row.template);
      const secret = openSecrets(this.deps.cipher, taskId, row.secrets);
      redactor = new Redactor(secret);
      const values = { ...parse<Record<string, unknown>>(row.input_values, {}), ...secret };
      const rows = await store.steps(taskId);
      const steps: StepState[] = rows.map((r) => ({
        status: r.status,
        output: parse(r.output, {}),
        checkpoint: parse(r.checkpoint, emptyCheckpoint()),
      }));
      if (job.cancel) {
        await this.finishCancelled(row, log);
        return;
      }
      await store.setTask(taskId, { status: 'processing' });
      await makeWorkspace(row.workspace);
      const principal = this.deps.principalFor(row.created_by);
      const sink: RunSink = {
        steps,
        startStep: async (idx) => {
          steps[idx]!.status = 'running';
          await store.startStep(taskId, idx, this.now());
        },
        saveCheckpoint: (idx, cp) => store.setStep(taskId, idx, { checkpoint: JSON.stringify(cp) }),
        finishStep: async (idx, status, output, error) => {
          steps[idx]!.status = status;
          steps[idx]!.output = output;
          await store.setStep(taskId, idx, {
            status,
            finished_at: this.now(),
            output: JSON.stringify(redactor.deep(output)),
            error: error ? JSON.stringify(redactor.deep(error)) : null,
          });
        },
        log,
        cancelRequested: () => job.cancel,
      };
      const outcome = await runSteps(
        this.deps,
        {
          taskId,
          template,
          values,
          user: {
            ref: row.created_by,
            principal,
            ctx: { principal, requestId: `task-${taskId}` },
            entity: await this.deps.catalog.userEntity(row.created_by),
          },
          workspace: row.workspace,
          dryRun: false,
          signal: job.controller.signal,
        },
        sink,
      );
      if (outcome.status === 'interrupted') return;
      if (outcome.status === 'cancelled') {
        await this.finishCancelled(row, log);
        return;
      }
      const finishedAt = this.now();
      if (outcome.status === 'completed') {
        await store.setTask(taskId, {
          status: 'completed',
          output: JSON.stringify(redactor.deep(outcome.output)),
          finished_at: finishedAt,
          // Nothing can run it again: its secret values are not kept, even encrypted.
          secrets: null,
        });
        await log(null, 'info', 'completed');
        await this.removeWorkspace(row);
      } else {
        await store.setTask(taskId, {
          status: 'failed',
          error: JSON.stringify(redactor.deep(outcome.error)),
          finished_at: finishedAt,
        });
      }
      await this.deps.audit.append({
        actor: row.created_by,
        action: outcome.status === 'completed' ? 'task:completed' : 'task:failed',
        target: `task:${taskId}`,
        decision: outcome.status === 'completed' ? 'allow' : 'error',
        requestId: `task-${taskId}`,
        details: {
          template: row.template_ref,
          ...(outcome.status === 'failed'
            ? { step: outcome.error.step, code: outcome.error.code, message: redactor.text(outcome.error.message) }
            : {}),
        },
      });
    } catch (err) {
      if (job.controller.signal.aborted && !job.cancel) return;
      const error = stepError(err);
      await store.setTask(taskId, {
        status: 'failed',
        error: JSON.stringify(redactor.deep({ ...error, step: null })),
        finished_at: this.now(),
      });
      await log(null, 'error', `${error.code}: ${error.message}`);
      await this.deps.audit.append({
        actor: row.created_by,
        action: 'task:failed',
        target: `task:${taskId}`,
        decision: 'error',
        requestId: `task-${taskId}`,
        details: { template: row.template_ref, step: null, code: error.code, message: redactor.text(error.message) },
      });
    }
  }

  private async finishCancelled(
    row: TaskRow,
    log: (step: string | null, level: 'warn', message: string) => Promise<void>,
  ): Promise<void> {
    const at = this.now();
    await this.deps.store.resetUnfinished(row.id, 'cancelled', at);
    await this.deps.store.setTask(row.id, { status: 'cancelled', finished_at: at });
    await log(null, 'warn', 'the task is cancelled');
    await this.removeWorkspace(row);
  }

  async removeWorkspace(row: TaskRow): Promise<void> {
    await removeWorkspace(this.deps.workspaces, row.workspace).catch((err: Error) =>
      this.deps.log(`templates: could not remove the workspace of task ${row.id}: ${err.message}`),
    );
    await this.deps.store.setTask(row.id, { workspace_removed_at: this.now() });
  }
}
