import { describe, expect, it } from 'vitest';
import type { DryRunResult, Task, TaskStep, TemplateDetail } from '@idp/contracts';
import { formatColumns } from '../output.ts';
import {
  currentStep,
  fileSize,
  formatBytes,
  formatDryRun,
  formatParameterProblems,
  formatParameters,
  formatTask,
  formatTaskLogLine,
  formatTaskOutput,
  formatTemplate,
  parameterProblemsOf,
  TASK_LIST_COLUMNS,
  TEMPLATE_LIST_COLUMNS,
} from './templates-format.ts';

const template: TemplateDetail = {
  ref: 'template:default/node-service',
  name: 'node-service',
  title: 'Node.js service',
  description: 'An HTTP service with PostgreSQL and Redis.\n',
  owner: 'group:default/platform',
  type: 'service',
  tags: ['nodejs', 'recommended'],
  parameters: [
    {
      name: 'name',
      page: 1,
      title: 'Name',
      description: 'Unique name',
      type: 'string',
      required: true,
      pattern: '^[a-z-]+$',
    },
    { name: 'owner', page: 1, title: 'Owner', description: null, type: 'string', required: true, default: 'payments' },
    {
      name: 'tier',
      page: 2,
      title: null,
      description: 'How critical',
      type: 'string',
      required: false,
      enum: ['gold', 'bronze'],
      default: 'bronze',
    },
    { name: 'replicas', page: 2, title: null, description: null, type: 'integer', required: false, default: 2 },
    { name: 'extra', page: 2, title: null, description: null, type: null, required: false },
  ],
  pages: [],
  schema: {},
  steps: [
    { id: 'fetch', name: 'Fetch skeleton', action: 'fetch:template' },
    { id: 'publish', name: null, action: 'publish:git' },
  ],
};

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

const task = (extra: Partial<Task> = {}): Task => ({
  id: 'task_abc',
  template: 'template:default/node-service',
  createdBy: 'user:default/alice@company.com',
  status: 'failed',
  createdAt: '2026-12-01T10:00:00.123Z',
  finishedAt: '2026-12-01T10:00:04.623Z',
  values: {},
  steps: [
    step('fetch', 'completed', { action: 'fetch:template', durationMs: 1200 }),
    step('publish', 'failed', {
      action: 'publish:git',
      attempts: 2,
      durationMs: 300,
      error: { code: 'TEMPLATE_ACTION_FAILED', message: 'remote refused the push' },
    }),
    step('register', 'pending', { action: 'catalog:register' }),
  ],
  output: null,
  error: { code: 'TEMPLATE_ACTION_FAILED', message: 'remote refused the push', step: 'publish' },
  ...extra,
});

describe('template:list', () => {
  it('shows name, title, type, owner (short) and tags', () => {
    const summary = { ...template, description: null };
    expect(
      formatColumns(
        TEMPLATE_LIST_COLUMNS.map((c) => c.header),
        [TEMPLATE_LIST_COLUMNS.map((c) => c.value(summary))],
      ),
    ).toBe(
      'NAME          TITLE            TYPE     OWNER     TAGS\n' +
        'node-service  Node.js service  service  platform  nodejs, recommended\n',
    );
  });
});

describe('template:get', () => {
  it('lists the parameters with required ones marked *, defaults, allowed values, patterns and pages', () => {
    expect(formatParameters(template.parameters)).toBe(
      [
        'NAME      TYPE     REQUIRED  DEFAULT   DESCRIPTION                          PAGE',
        'name      string   *         -         Unique name (pattern: ^[a-z-]+$)     1',
        'owner     string   *         payments  Owner                                1',
        'tier      string   -         bronze    How critical (one of: gold, bronze)  2',
        'replicas  integer  -         2         -                                    2',
        'extra     -        -         -         -                                    2',
        '',
      ].join('\n'),
    );
  });

  it('shows what the template is, its parameters, its steps and how to run it', () => {
    const text = formatTemplate(template);
    expect(text).toContain('Owner:  platform\n');
    expect(text).toContain('\nAn HTTP service with PostgreSQL and Redis.\n');
    expect(text).toContain('Parameters (* required):\n  NAME ');
    expect(text).toContain(
      'Steps:\n  #  ID       ACTION          NAME\n  1  fetch    fetch:template  Fetch skeleton\n  2  publish  publish:git     -\n',
    );
    // Only required parameters without a default must be given.
    expect(text).toMatch(/Run it: idp create node-service --set name=…\n$/);
  });

  it('says when a template has no parameters or steps', () => {
    const text = formatTemplate({ ...template, description: null, parameters: [], steps: [] });
    expect(text).toContain('Parameters: none\n');
    expect(text).toContain('Steps: none\n');
    expect(text).toMatch(/Run it: idp create node-service\n$/);
  });
});

describe('parameter problems', () => {
  it('lists every problem under the message, with its JSON path', () => {
    const details = {
      problems: [
        { path: '/name', message: 'must match pattern "^[a-z-]+$"' },
        { path: '', message: "must have required property 'owner'" },
        { nonsense: true },
        'text',
      ],
    };
    const problems = parameterProblemsOf(details);
    expect(problems).toEqual([
      { path: '/name', message: 'must match pattern "^[a-z-]+$"' },
      { path: '/', message: "must have required property 'owner'" },
    ]);
    expect(formatParameterProblems('node-service', 'server message', problems)).toBe(
      'the values do not fit the parameters of node-service (2 problems):\n' +
        '  - /name: must match pattern "^[a-z-]+$"\n' +
        "  - /: must have required property 'owner'",
    );
    expect(formatParameterProblems('node-service', 'm', problems.slice(0, 1))).toMatch(/\(1 problem\):\n/);
    expect(parameterProblemsOf({})).toEqual([]);
    expect(formatParameterProblems('node-service', 'as is', [])).toBe('as is');
  });
});

describe('tasks', () => {
  it('task:list shows the step a task is at and how long it took', () => {
    const row = TASK_LIST_COLUMNS.map((c) => c.value(task()));
    expect(row).toEqual([
      'task_abc',
      'template:node-service',
      'failed',
      'publish',
      'alice@company.com',
      '2026-12-01T10:00:00Z',
      '4.5s',
    ]);
    expect(currentStep(task({ status: 'open', steps: [step('a', 'pending'), step('b', 'pending')] }))).toBe('a');
    expect(currentStep(task({ status: 'completed', steps: [step('a', 'completed')] }))).toBeNull();
    expect(TASK_LIST_COLUMNS.at(-1)!.value(task({ status: 'processing', finishedAt: null }))).toBeNull();
  });

  it('task:get shows the task, its error with the step, and each step with status, attempts, duration and error', () => {
    expect(formatTask(task())).toBe(
      [
        'Task:        task_abc',
        'Template:    template:node-service',
        'Status:      failed',
        'Created by:  alice@company.com',
        'Created:     2026-12-01T10:00:00Z',
        'Finished:    2026-12-01T10:00:04Z',
        'Took:        4.5s',
        'Error:       step publish: TEMPLATE_ACTION_FAILED: remote refused the push',
        '',
        'Steps:',
        '  STEP      ACTION            STATUS     ATTEMPTS  DURATION  ERROR',
        '  fetch     fetch:template    completed  1         1.2s      -',
        '  publish   publish:git       failed     2         0.3s      TEMPLATE_ACTION_FAILED: remote refused the push',
        '  register  catalog:register  pending    0         -         -',
        '',
      ].join('\n'),
    );
  });

  it("prints the output's links (title and URL or entity) and its texts", () => {
    const output = {
      links: [
        { title: 'Repository', url: 'file:///srv/git/payments-api.git', entityRef: null, icon: null },
        { title: 'Open in catalog', url: null, entityRef: 'component:default/payments-api', icon: 'catalog' },
        { title: null, url: 'http://payments-api.localhost', entityRef: null, icon: null },
      ],
      text: [{ title: 'Next steps', content: 'git clone …\ncd payments-api\n\n' }],
    };
    expect(formatTaskOutput(output)).toBe(
      [
        'Links:',
        '  Repository                     file:///srv/git/payments-api.git',
        '  Open in catalog                component:payments-api',
        '  http://payments-api.localhost  http://payments-api.localhost',
        '',
        'Next steps:',
        '  git clone …',
        '  cd payments-api',
        '',
      ].join('\n'),
    );
    expect(formatTaskOutput(null)).toBe('');
    expect(formatTaskOutput({ links: [], text: [] })).toBe('');
    expect(formatTask(task({ status: 'completed', error: null, output }))).toContain('\nLinks:\n  Repository ');
  });

  it('prints a log line as time, step, level and message', () => {
    expect(
      formatTaskLogLine({
        seq: 3,
        at: '2026-12-01T10:00:01.500Z',
        step: 'fetch',
        level: 'info',
        message: 'wrote 12 files',
      }),
    ).toBe('2026-12-01T10:00:01Z fetch INFO  wrote 12 files');
    expect(formatTaskLogLine({ seq: 4, at: '2026-12-01T10:00:02Z', step: null, level: 'error', message: 'boom' })).toBe(
      '2026-12-01T10:00:02Z - ERROR boom',
    );
  });
});

describe('dry run', () => {
  it('lists the files it would write with their sizes, then the steps', () => {
    const result: DryRunResult = {
      files: [
        { path: 'package.json', content: '{"name":"é"}', base64: false, executable: false },
        { path: 'bin/start', content: Buffer.from('#!/bin/sh\n').toString('base64'), base64: true, executable: true },
        { path: 'big.bin', content: Buffer.alloc(3000).toString('base64'), base64: true, executable: false },
      ],
      steps: [step('fetch', 'completed', { action: 'fetch:template', durationMs: 40 })],
      log: [],
      output: null,
    };
    expect(result.files.map(fileSize)).toEqual([13, 10, 3000]);
    expect(formatDryRun(result)).toBe(
      [
        'Files it would write (3):',
        '  PATH                    SIZE',
        '  package.json            13 B',
        '  bin/start (executable)  10 B',
        '  big.bin                 2.9 KiB',
        '',
        'Steps:',
        '  STEP   ACTION          STATUS     ATTEMPTS  DURATION  ERROR',
        '  fetch  fetch:template  completed  1         0.0s      -',
        '',
      ].join('\n'),
    );
    expect(formatDryRun({ ...result, files: [] })).toMatch(/^Files: none\n/);
    expect([0, 1023, 1024, 5 * 1024 * 1024].map(formatBytes)).toEqual(['0 B', '1023 B', '1.0 KiB', '5.0 MiB']);
  });
});
