import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore, type Store } from '../../store/index.ts';
import { MAX_LOG_LINES, MAX_LOG_MESSAGE, TaskStore, type TaskRow } from './store.ts';

// The task tables on a real SQLite store: a task's log is bounded in lines and line length, its
// sequence numbers are unique under concurrent writers, and retry/cancel reset only unfinished steps.

const task = (id: string): TaskRow => ({
  id,
  template_ref: 'template:default/t',
  created_by: 'user:default/alice',
  status: 'processing',
  template: '{}',
  input_values: '{}',
  secret_keys: '[]',
  secrets: null,
  output: null,
  error: null,
  workspace: `/tmp/tasks/${id}`,
  cancel_requested: 0,
  log_count: 0,
  created_at: '2026-01-01T00:00:00.000Z',
  finished_at: null,
  workspace_removed_at: null,
});

describe('TaskStore', () => {
  let store: Store;
  let tasks: TaskStore;
  const dir = mkdtempSync(join(tmpdir(), 'idp-taskstore-'));

  beforeAll(async () => {
    store = await openStore({ dataDir: dir });
    tasks = new TaskStore(store.db);
  });
  afterAll(async () => {
    await store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('keeps at most MAX_LOG_LINES lines, the last saying so, each cut at MAX_LOG_MESSAGE', async () => {
    await tasks.insert(task('task_a'), []);
    const line = (message: string) => ({ at: '2026-01-01T00:00:00.000Z', step: 's', level: 'info' as const, message });
    const first = await tasks.appendLog('task_a', line('x'.repeat(MAX_LOG_MESSAGE * 3)));
    expect(first!.message.length).toBe(MAX_LOG_MESSAGE);
    // Concurrent writers: every line gets its own number.
    const results = await Promise.all(
      Array.from({ length: MAX_LOG_LINES + 50 }, (_, i) => tasks.appendLog('task_a', line(`l${i}`))),
    );
    expect(results.filter((r) => r === undefined).length).toBe(51);
    const all = await tasks.logs('task_a', 0, MAX_LOG_LINES * 2);
    expect(all.length).toBe(MAX_LOG_LINES);
    expect(new Set(all.map((l) => l.seq)).size).toBe(MAX_LOG_LINES);
    expect(all.at(-1)).toMatchObject({
      seq: MAX_LOG_LINES,
      level: 'warn',
      message: expect.stringContaining('log limit reached'),
    });
    expect((await tasks.get('task_a'))!.log_count).toBe(MAX_LOG_LINES);
  }, 120_000);

  it('resets only steps that did not complete or skip', async () => {
    const step = (idx: number, status: 'completed' | 'skipped' | 'failed' | 'pending') => ({
      task_id: 'task_b',
      idx,
      step_id: `s${idx}`,
      name: null,
      action: 'debug:log',
      status,
      attempts: status === 'pending' ? 0 : 1,
      started_at: null,
      finished_at: null,
      output: null,
      error: status === 'failed' ? '{"code":"X","message":"y"}' : null,
      checkpoint: null,
    });
    await tasks.insert(task('task_b'), [
      step(0, 'completed'),
      step(1, 'skipped'),
      step(2, 'failed'),
      step(3, 'pending'),
    ]);
    await tasks.resetUnfinished('task_b', 'cancelled', '2026-01-01T00:00:01.000Z');
    expect((await tasks.steps('task_b')).map((s) => s.status)).toEqual([
      'completed',
      'skipped',
      'cancelled',
      'cancelled',
    ]);
    await tasks.resetUnfinished('task_b', 'pending', null);
    const steps = await tasks.steps('task_b');
    expect(steps.map((s) => s.status)).toEqual(['completed', 'skipped', 'pending', 'pending']);
    expect(steps[2]!.error).toBeNull();
  });
});
