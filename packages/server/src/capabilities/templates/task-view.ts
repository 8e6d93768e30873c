// Rows → the API's Task (values with secrets as ***, outputs redacted) and log entries.
import type { Task, TaskLogEntry, TaskStep } from '@idp/contracts';
import type { TaskLogRow, TaskRow, TaskStepRow } from './store.ts';
import { shownValues } from './task-secrets.ts';

const parse = <T>(text: string | null, fallback: T): T => {
  if (!text) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
};

export function stepView(r: TaskStepRow): TaskStep {
  const duration = r.started_at && r.finished_at ? Date.parse(r.finished_at) - Date.parse(r.started_at) : null;
  return {
    id: r.step_id,
    name: r.name,
    action: r.action,
    status: r.status,
    attempts: r.attempts,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    durationMs: duration !== null && Number.isFinite(duration) ? Math.max(0, duration) : null,
    output: parse(r.output, {}),
    error: parse(r.error, null),
  };
}

export function taskView(row: TaskRow, steps: TaskStepRow[]): Task {
  const plain = parse<Record<string, unknown>>(row.input_values, {});
  const secretKeys = parse<string[]>(row.secret_keys, []);
  return {
    id: row.id,
    template: row.template_ref,
    createdBy: row.created_by,
    status: row.status,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    values: shownValues(plain, secretKeys),
    steps: steps.map(stepView),
    output: parse(row.output, null),
    error: parse(row.error, null),
  };
}

export function logView(r: TaskLogRow): TaskLogEntry {
  return { seq: r.seq, at: r.at, step: r.step, level: r.level, message: r.message };
}
