// The tasks' tables: a task, its steps (with each step's checkpoint) and its bounded log.
import type { Kysely, Transaction } from 'kysely';
import type { TaskStatus, TaskStepStatus } from '@idp/contracts';
import type { Database } from '../../store/index.ts';
import type { TaskLogsTable, TaskStepsTable, TasksTable } from '../../store/schema.ts';

export type TaskRow = TasksTable;
export type TaskStepRow = TaskStepsTable;
export type TaskLogRow = TaskLogsTable;

/** At most this many log lines per task; the last one says the rest were dropped. */
export const MAX_LOG_LINES = 10_000;
/** A log message is cut at this many characters. */
export const MAX_LOG_MESSAGE = 4096;

/** A new task's row and its steps' rows, all pending. */
export function newTaskRows(t: {
  id: string;
  template: { ref: string; steps: { id: string; name: string | null; action: string }[] };
  entity: unknown;
  createdBy: string;
  plain: Record<string, unknown>;
  sealed: string | null;
  secretKeys: string[];
  workspace: string;
  now: string;
}): { row: TaskRow; steps: TaskStepRow[] } {
  const row: TaskRow = {
    id: t.id,
    template_ref: t.template.ref,
    created_by: t.createdBy,
    status: 'open',
    template: JSON.stringify(t.entity),
    input_values: JSON.stringify(t.plain),
    secret_keys: JSON.stringify(t.secretKeys),
    secrets: t.sealed,
    output: null,
    error: null,
    workspace: t.workspace,
    cancel_requested: 0,
    log_count: 0,
    created_at: t.now,
    finished_at: null,
    workspace_removed_at: null,
  };
  const steps: TaskStepRow[] = t.template.steps.map((s, idx) => ({
    task_id: t.id,
    idx,
    step_id: s.id,
    name: s.name,
    action: s.action,
    status: 'pending',
    attempts: 0,
    started_at: null,
    finished_at: null,
    output: null,
    error: null,
    checkpoint: null,
  }));
  return { row, steps };
}

export class TaskStore {
  constructor(readonly db: Kysely<Database>) {}

  async insert(task: TaskRow, steps: TaskStepRow[], trx?: Transaction<Database>): Promise<void> {
    const run = async (t: Transaction<Database>) => {
      await t.insertInto('tasks').values(task).execute();
      if (steps.length) await t.insertInto('task_steps').values(steps).execute();
    };
    if (trx) await run(trx);
    else await this.db.transaction().execute(run);
  }

  get(id: string): Promise<TaskRow | undefined> {
    return this.db.selectFrom('tasks').selectAll().where('id', '=', id).executeTakeFirst();
  }

  steps(id: string): Promise<TaskStepRow[]> {
    return this.db.selectFrom('task_steps').selectAll().where('task_id', '=', id).orderBy('idx', 'asc').execute();
  }

  async stepsOf(ids: string[]): Promise<Map<string, TaskStepRow[]>> {
    const out = new Map<string, TaskStepRow[]>();
    if (!ids.length) return out;
    const rows = await this.db
      .selectFrom('task_steps')
      .selectAll()
      .where('task_id', 'in', ids)
      .orderBy('task_id')
      .orderBy('idx', 'asc')
      .execute();
    for (const r of rows) {
      const list = out.get(r.task_id) ?? [];
      list.push(r);
      out.set(r.task_id, list);
    }
    return out;
  }

  list(filter: { createdBy?: string; status?: TaskStatus; limit: number }): Promise<TaskRow[]> {
    let q = this.db.selectFrom('tasks').selectAll();
    if (filter.createdBy) q = q.where('created_by', '=', filter.createdBy);
    if (filter.status) q = q.where('status', '=', filter.status);
    return q.orderBy('created_at', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
  }

  /** Tasks a previous process left running. */
  unfinished(): Promise<TaskRow[]> {
    return this.db
      .selectFrom('tasks')
      .selectAll()
      .where('status', 'in', ['open', 'processing'])
      .orderBy('created_at')
      .execute();
  }

  async setTask(id: string, fields: Partial<TaskRow>): Promise<void> {
    await this.db.updateTable('tasks').set(fields).where('id', '=', id).execute();
  }

  async setStep(id: string, idx: number, fields: Partial<TaskStepRow>): Promise<void> {
    await this.db.updateTable('task_steps').set(fields).where('task_id', '=', id).where('idx', '=', idx).execute();
  }

  async startStep(id: string, idx: number, at: string): Promise<void> {
    await this.db
      .updateTable('task_steps')
      .set((eb) => ({
        status: 'running',
        started_at: at,
        finished_at: null,
        error: null,
        attempts: eb('attempts', '+', 1),
      }))
      .where('task_id', '=', id)
      .where('idx', '=', idx)
      .execute();
  }

  /** Steps not completed or skipped get `status` (pending again for a retry, cancelled on cancel). */
  async resetUnfinished(id: string, status: TaskStepStatus, at: string | null): Promise<void> {
    await this.db
      .updateTable('task_steps')
      .set({ status, ...(status === 'pending' ? { error: null } : { finished_at: at }) })
      .where('task_id', '=', id)
      .where('status', 'not in', ['completed', 'skipped'])
      .execute();
  }

  /**
   * Appends one line unless the task's log is full; the line that fills it says so. The count
   * and the line are written together, so concurrent writers never reuse a sequence number.
   */
  async appendLog(
    id: string,
    line: { at: string; step: string | null; level: TaskLogRow['level']; message: string },
  ): Promise<TaskLogRow | undefined> {
    return this.db.transaction().execute(async (trx) => {
      // One statement takes the next number (a row lock in PostgreSQL, the one writer in SQLite).
      const row = await trx
        .updateTable('tasks')
        .set((eb) => ({ log_count: eb('log_count', '+', 1) }))
        .where('id', '=', id)
        .where('log_count', '<', MAX_LOG_LINES)
        .returning('log_count')
        .executeTakeFirst();
      if (!row) return undefined;
      const seq = Number(row.log_count);
      const last = seq === MAX_LOG_LINES;
      const entry: TaskLogRow = {
        task_id: id,
        seq,
        at: line.at,
        step: line.step,
        level: last ? 'warn' : line.level,
        message: last
          ? `log limit reached (${MAX_LOG_LINES} lines): later lines of this task are not kept`
          : cut(line.message),
      };
      await trx.insertInto('task_logs').values(entry).execute();
      return entry;
    });
  }

  logs(id: string, after: number, limit: number): Promise<TaskLogRow[]> {
    return this.db
      .selectFrom('task_logs')
      .selectAll()
      .where('task_id', '=', id)
      .where('seq', '>', after)
      .orderBy('seq', 'asc')
      .limit(limit)
      .execute();
  }

  /** Finished tasks whose workspace is still on disk, finished before `before`. */
  staleWorkspaces(before: string): Promise<TaskRow[]> {
    return this.db
      .selectFrom('tasks')
      .selectAll()
      .where('status', 'in', ['failed', 'cancelled', 'completed'])
      .where('workspace_removed_at', 'is', null)
      .where('finished_at', '<', before)
      .execute();
  }
}

function cut(message: string): string {
  return message.length > MAX_LOG_MESSAGE ? `${message.slice(0, MAX_LOG_MESSAGE - 1)}…` : message;
}
