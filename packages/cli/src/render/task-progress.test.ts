import { describe, expect, it } from 'vitest';
import type { Task, TaskLogEntry, TaskStep } from '@idp/contracts';
import { taskEnded, TaskProgress } from './task-progress.ts';

const step = (id: string, status: TaskStep['status'], extra: Partial<TaskStep> = {}): TaskStep => ({
  id,
  name: null,
  action: 'debug:log',
  status,
  attempts: status === 'pending' ? 0 : 1,
  startedAt: null,
  finishedAt: null,
  durationMs: null,
  output: {},
  error: null,
  ...extra,
});

const task = (steps: TaskStep[], status: Task['status'] = 'processing'): Task => ({
  id: 'task_abc',
  template: 'template:default/demo',
  createdBy: 'user:default/alice@company.com',
  status,
  createdAt: '2026-12-01T10:00:00Z',
  finishedAt: null,
  values: {},
  steps,
  output: null,
  error: null,
});

let seq = 0;
const log = (stepId: string | null, message: string, level: TaskLogEntry['level'] = 'info'): TaskLogEntry => ({
  seq: ++seq,
  at: '2026-12-01T10:00:01Z',
  step: stepId,
  level,
  message,
});

describe('TaskProgress', () => {
  it("prints each step's start, its log lines indented and its finish with the time, once each", () => {
    const p = new TaskProgress();
    const fetch = { name: 'Fetch skeleton', action: 'fetch:template' };
    expect(p.update(task([step('fetch', 'pending', fetch), step('say', 'pending')]))).toEqual([]);
    expect(p.update(task([step('fetch', 'running', fetch), step('say', 'pending')]))).toEqual([
      '▸ [1/2] fetch: Fetch skeleton (fetch:template)',
    ]);
    expect(p.update(task([step('fetch', 'running', fetch), step('say', 'pending')]))).toEqual([]);
    expect(p.log(log('fetch', 'wrote 3 files\nskipped 1\n'))).toEqual(['    wrote 3 files', '    skipped 1']);
    expect(p.log(log('fetch', 'slow remote', 'warn'))).toEqual(['    warn: slow remote']);
    expect(p.log(log(null, 'a task-level line'))).toEqual(['  a task-level line']);
    expect(
      p.update(task([step('fetch', 'completed', { ...fetch, durationMs: 1234 }), step('say', 'running')])),
    ).toEqual(['✓ fetch completed  1.2s', '▸ [2/2] say: debug:log']);
    expect(
      p.update(
        task(
          [
            step('fetch', 'completed', { ...fetch, durationMs: 1234 }),
            step('say', 'failed', {
              durationMs: 20,
              error: { code: 'TEMPLATE_ACTION_FAILED', message: 'boom\nstack' },
            }),
          ],
          'failed',
        ),
      ),
    ).toEqual(['✗ say failed  0.0s  TEMPLATE_ACTION_FAILED: boom']);
  });

  it('a log line of a step not seen running asks for the task first, and prints the start line itself if need be', () => {
    const p = new TaskProgress();
    p.update(task([step('a', 'pending'), step('b', 'pending')]));
    const line = log('a', 'hello');
    expect(p.knows(line)).toBe(false);
    expect(p.log(line)).toEqual(['▸ [1/2] a: debug:log', '    hello']);
    expect(p.update(task([step('a', 'running'), step('b', 'pending')]))).toEqual([]);
    expect(p.knows(log('a', 'more'))).toBe(true);
    expect(p.knows(log(null, 'task line'))).toBe(true);
    expect(p.knows(log('unknown', 'x'))).toBe(false);
  });

  it("leaves out the runner's own started/completed/failed lines, and asks for the task on a finish line", () => {
    const p = new TaskProgress();
    p.update(task([step('pub', 'running', { name: 'Publish', action: 'publish:git' })]));
    expect(p.log(log('pub', 'Publish: publish:git started'))).toEqual([]);
    const done = log('pub', 'Publish: completed');
    expect(p.knows(done)).toBe(false);
    expect(p.log(done)).toEqual([]);
    expect(p.knows(log('pub', 'Publish: failed: TEMPLATE_ACTION_FAILED: x', 'error'))).toBe(false);
    expect(p.log(log('pub', 'Publish: failed: TEMPLATE_ACTION_FAILED: x', 'error'))).toEqual([]);
    // The same text from the action itself at another level, or of another step, is printed.
    expect(p.log(log('pub', 'Publish: failed: something', 'info'))).toEqual(['    Publish: failed: something']);
    expect(p.log(log(null, 'completed'))).toEqual([]);
    expect(p.log(log(null, 'the task is cancelled', 'warn'))).toEqual(['  warn: the task is cancelled']);
  });

  it('prints a skipped step once, without a start line, even when its log line comes first', () => {
    const p = new TaskProgress();
    p.update(task([step('maybe', 'pending')]));
    const line = log('maybe', 'skipped: its if is false');
    expect(p.knows(line)).toBe(false);
    expect(p.update(task([step('maybe', 'skipped')]))).toEqual(['- maybe skipped (its if is false)']);
    expect(p.log(line)).toEqual([]);
    expect(p.update(task([step('maybe', 'skipped')]))).toEqual([]);
  });

  it('after a retry: steps done before get only their finish line, the failed one starts again as attempt 2', () => {
    const p = new TaskProgress();
    const failed = step('b', 'failed', { durationMs: 100, error: { code: 'TEMPLATE_ACTION_FAILED', message: 'x' } });
    expect(p.update(task([step('a', 'completed', { durationMs: 500 }), failed], 'failed'))).toEqual([
      '✓ a completed  0.5s',
      '✗ b failed  0.1s  TEMPLATE_ACTION_FAILED: x',
    ]);
    // A line of the new attempt while the snapshot still says failed: read the task first.
    expect(p.knows(log('b', 'trying again'))).toBe(false);
    expect(
      p.update(task([step('a', 'completed', { durationMs: 500 }), step('b', 'running', { attempts: 2 })])),
    ).toEqual(['▸ [2/2] b: debug:log (attempt 2)']);
    expect(p.knows(log('b', 'trying again'))).toBe(true);
    expect(
      p.update(
        task([step('a', 'completed', { durationMs: 500 }), step('b', 'completed', { attempts: 2, durationMs: 2500 })]),
      ),
    ).toEqual(['✓ b completed  2.5s']);
  });

  it('a cancelled step gets a finish line', () => {
    const p = new TaskProgress();
    p.update(task([step('a', 'running')]));
    expect(p.update(task([step('a', 'cancelled', { durationMs: 3000 })], 'cancelled'))).toEqual([
      '✗ a cancelled  3.0s',
    ]);
  });
});

describe('taskEnded', () => {
  it('is true for completed, failed and cancelled only', () => {
    expect(
      ['open', 'processing', 'completed', 'failed', 'cancelled'].map((s) => taskEnded(task([], s as Task['status']))),
    ).toEqual([false, false, true, true, true]);
  });
});
