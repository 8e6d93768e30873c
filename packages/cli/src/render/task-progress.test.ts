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
  const fetch = { name: 'Fetch skeleton', action: 'fetch:template' };

  it("prints each step's start, its log lines indented and its finish with the time, in the log's order", () => {
    const p = new TaskProgress();
    expect(p.update(task([step('fetch', 'pending', fetch), step('say', 'pending')]))).toEqual([]);
    const started = log('fetch', 'Fetch skeleton: fetch:template started');
    expect(p.knows(started)).toBe(false);
    // The read the follower makes is ahead of the log: it prints nothing by itself.
    expect(
      p.update(task([step('fetch', 'completed', { ...fetch, durationMs: 1234 }), step('say', 'running')])),
    ).toEqual([]);
    expect(p.log(started)).toEqual(['▸ [1/2] fetch: Fetch skeleton (fetch:template)']);
    expect(p.log(log('fetch', 'wrote 3 files\nskipped 1\n'))).toEqual(['    wrote 3 files', '    skipped 1']);
    expect(p.log(log('fetch', 'slow remote', 'warn'))).toEqual(['    warn: slow remote']);
    expect(p.log(log(null, 'a task-level line'))).toEqual(['  a task-level line']);
    const completed = log('fetch', 'Fetch skeleton: completed');
    expect(p.knows(completed)).toBe(true);
    expect(p.log(completed)).toEqual(['✓ fetch completed  1.2s']);
    expect(p.log(log('say', 'say: debug:log started'))).toEqual(['▸ [2/2] say: debug:log']);
    expect(p.log(log('say', 'hello'))).toEqual(['    hello']);
    // The task's end closes what the log did not.
    const failed = step('say', 'failed', {
      durationMs: 20,
      error: { code: 'TEMPLATE_ACTION_FAILED', message: 'boom\nstack' },
    });
    expect(p.update(task([step('fetch', 'completed', { ...fetch, durationMs: 1234 }), failed], 'failed'))).toEqual([
      '✗ say failed  0.0s  TEMPLATE_ACTION_FAILED: boom',
    ]);
    expect(p.update(task([step('fetch', 'completed', { ...fetch, durationMs: 1234 }), failed], 'failed'))).toEqual([]);
  });

  it("a step's first line from the action itself starts it; a later step's line closes the earlier one", () => {
    const p = new TaskProgress();
    p.update(task([step('a', 'pending'), step('b', 'pending')]));
    const line = log('a', 'hello');
    expect(p.knows(line)).toBe(false);
    expect(p.log(line)).toEqual(['▸ [1/2] a: debug:log', '    hello']);
    p.update(task([step('a', 'running'), step('b', 'pending')]));
    expect(p.knows(log('a', 'more'))).toBe(true);
    expect(p.knows(log(null, 'task line'))).toBe(true);
    expect(p.knows(log('unknown', 'x'))).toBe(false);
    p.update(task([step('a', 'completed', { durationMs: 100 }), step('b', 'running')]));
    expect(p.log(log('b', 'next'))).toEqual(['✓ a completed  0.1s', '▸ [2/2] b: debug:log', '    next']);
  });

  it("leaves out the runner's own started/completed/failed lines, and needs the task's status for a finish line", () => {
    const p = new TaskProgress();
    const pub = { name: 'Publish', action: 'publish:git' };
    p.update(task([step('pub', 'running', pub)]));
    expect(p.log(log('pub', 'Publish: publish:git started'))).toEqual(['▸ [1/1] pub: Publish (publish:git)']);
    const failedLine = log('pub', 'Publish: failed: TEMPLATE_ACTION_FAILED: x', 'error');
    expect(p.knows(failedLine)).toBe(false);
    p.update(
      task([step('pub', 'failed', { ...pub, durationMs: 5, error: { code: 'TEMPLATE_ACTION_FAILED', message: 'x' } })]),
    );
    expect(p.knows(failedLine)).toBe(true);
    expect(p.log(failedLine)).toEqual(['✗ pub failed  0.0s  TEMPLATE_ACTION_FAILED: x']);
    // The same text from the action itself at another level is printed.
    expect(p.log(log('pub', 'Publish: failed: something', 'info'))).toEqual(['    Publish: failed: something']);
    expect(p.log(log(null, 'completed'))).toEqual([]);
    expect(p.log(log(null, 'the task is cancelled', 'warn'))).toEqual(['  warn: the task is cancelled']);
  });

  it('prints a skipped step once, without a start line', () => {
    const p = new TaskProgress();
    p.update(task([step('maybe', 'pending')]));
    const line = log('maybe', 'skipped: its if is false');
    expect(p.knows(line)).toBe(false);
    p.update(task([step('maybe', 'skipped')]));
    expect(p.log(line)).toEqual(['- maybe skipped (its if is false)']);
    expect(p.update(task([step('maybe', 'skipped')], 'completed'))).toEqual([]);
  });

  it('after a retry: steps done before show at the top, the failed one starts again as attempt 2', () => {
    const p = new TaskProgress();
    const before = [step('a', 'completed', { durationMs: 500 }), step('s', 'skipped')];
    expect(p.update(task([...before, step('b', 'pending', { attempts: 1 }), step('c', 'completed')]))).toEqual([
      '✓ a completed  0.5s',
      '- s skipped (its if is false)',
    ]);
    const again = log('b', 'b: debug:log started');
    expect(p.knows(again)).toBe(false);
    p.update(task([...before, step('b', 'running', { attempts: 2 }), step('c', 'pending')]));
    expect(p.log(again)).toEqual(['▸ [3/4] b: debug:log (attempt 2)']);
    expect(p.knows(log('b', 'trying again'))).toBe(true);
    expect(
      p.update(
        task([...before, step('b', 'completed', { attempts: 2, durationMs: 2500 }), step('c', 'skipped')], 'completed'),
      ),
    ).toEqual(['✓ b completed  2.5s', '- c skipped (its if is false)']);
  });

  it('a read showing the task ended before its log was read prints nothing; the final one closes the rest', () => {
    const p = new TaskProgress();
    p.update(task([step('a', 'pending'), step('b', 'pending')]));
    const ended = task(
      [
        step('a', 'completed', { durationMs: 10 }),
        step('b', 'failed', { durationMs: 10, error: { code: 'E', message: 'x' } }),
      ],
      'failed',
    );
    expect(p.update(ended, false)).toEqual([]);
    expect(p.log(log('a', 'a: debug:log started'))).toEqual(['▸ [1/2] a: debug:log']);
    expect(p.log(log('a', 'a: completed'))).toEqual(['✓ a completed  0.0s']);
    expect(p.log(log('b', 'b: failed: E: x', 'error'))).toEqual(['▸ [2/2] b: debug:log', '✗ b failed  0.0s  E: x']);
    expect(p.update(ended, true)).toEqual([]);
  });

  it('a cancelled step gets its finish line when the task ends', () => {
    const p = new TaskProgress();
    p.update(task([step('a', 'pending')]));
    p.log(log('a', 'working'));
    expect(p.update(task([step('a', 'cancelled', { durationMs: 3000 })], 'cancelled'))).toEqual([
      '✗ a cancelled  3.0s',
    ]);
  });

  it("replays a finished run's log (a dry run) as it would have been followed", () => {
    const steps = [
      step('a', 'completed', { durationMs: 10 }),
      step('s', 'skipped'),
      step('b', 'completed', { durationMs: 20 }),
    ];
    expect(
      TaskProgress.replay(steps, [
        log('a', 'a: debug:log started'),
        log('a', 'hi'),
        log('a', 'a: completed'),
        log('s', 'skipped: its if is false'),
      ]),
    ).toEqual([
      '▸ [1/3] a: debug:log',
      '    hi',
      '✓ a completed  0.0s',
      '- s skipped (its if is false)',
      '✓ b completed  0.0s',
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
