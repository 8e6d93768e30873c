import type {
  DryRunResult,
  Task,
  TaskLogEntry,
  TaskOutput,
  TaskStep,
  TemplateDetail,
  TemplateParameter,
  TemplateSummary,
} from '@idp/contracts';
import { displayRef } from '@idp/core/refs';
import { formatElapsed } from '../env-format.ts';
import { formatColumns, formatRecord, formatTime, type Column } from '../output.ts';

// Golden paths for people: templates with their parameters, tasks with their steps, logs and output.

export const TEMPLATE_LIST_COLUMNS: Column<TemplateSummary>[] = [
  { header: 'NAME', value: (t) => t.name },
  { header: 'TITLE', value: (t) => t.title },
  { header: 'TYPE', value: (t) => t.type },
  { header: 'OWNER', value: (t) => (t.owner ? displayRef(t.owner) : null) },
  { header: 'TAGS', value: (t) => t.tags },
];

/** template:get: what it is, its parameters (required ones marked *), then its steps. */
export function formatTemplate(t: TemplateDetail): string {
  const head = formatRecord([
    ['Name', t.name],
    ['Title', t.title],
    ['Type', t.type],
    ['Owner', t.owner ? displayRef(t.owner) : null],
    ['Tags', t.tags],
  ]);
  const parts = [head];
  if (t.description) parts.push(`${t.description.trim()}\n`);
  parts.push(
    t.parameters.length === 0
      ? 'Parameters: none\n'
      : `Parameters (* required):\n${indent(formatParameters(t.parameters))}`,
  );
  parts.push(
    t.steps.length === 0
      ? 'Steps: none\n'
      : `Steps:\n${indent(
          formatColumns(
            ['#', 'ID', 'ACTION', 'NAME'],
            t.steps.map((s, i) => [i + 1, s.id, s.action, s.name]),
          ),
        )}`,
  );
  parts.push(`Run it: idp create ${t.name}${requiredSets(t.parameters)}\n`);
  return parts.join('\n');
}

/** NAME, TYPE, REQUIRED (*), DEFAULT, DESCRIPTION (with its allowed values or pattern), PAGE. */
export function formatParameters(parameters: readonly TemplateParameter[]): string {
  return formatColumns(
    ['NAME', 'TYPE', 'REQUIRED', 'DEFAULT', 'DESCRIPTION', 'PAGE'],
    parameters.map((p) => [
      p.name,
      p.type,
      p.required ? '*' : '',
      p.default === undefined ? '' : formatValue(p.default),
      parameterDescription(p),
      p.page,
    ]),
  );
}

function parameterDescription(p: TemplateParameter): string {
  const text = (p.description ?? p.title ?? '').trim();
  const rules: string[] = [];
  if (p.enum && p.enum.length > 0) rules.push(`one of: ${p.enum.map(formatValue).join(', ')}`);
  if (p.pattern) rules.push(`pattern: ${p.pattern}`);
  if (rules.length === 0) return text;
  return text === '' ? rules.join('; ') : `${text} (${rules.join('; ')})`;
}

/** ` --set name=…` for each required parameter without a default: what the user must add. */
function requiredSets(parameters: readonly TemplateParameter[]): string {
  return parameters
    .filter((p) => p.required && p.default === undefined)
    .map((p) => ` --set ${p.name}=…`)
    .join('');
}

function formatValue(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** TEMPLATE_PARAMETERS_INVALID's details.problems, when they have the expected shape. */
export function parameterProblemsOf(details: Record<string, unknown>): Array<{ path: string; message: string }> {
  const problems = details.problems;
  if (!Array.isArray(problems)) return [];
  return problems.flatMap((p: unknown) => {
    if (typeof p !== 'object' || p === null) return [];
    const { path, message } = p as Record<string, unknown>;
    return typeof message === 'string' ? [{ path: typeof path === 'string' && path !== '' ? path : '/', message }] : [];
  });
}

/** A headline naming the template and the count, then one line per problem: `  - $.path: message`. */
export function formatParameterProblems(
  template: string,
  message: string,
  problems: ReadonlyArray<{ path: string; message: string }>,
): string {
  if (problems.length === 0) return message;
  const count = problems.length === 1 ? '1 problem' : `${problems.length} problems`;
  return [
    `the values do not fit the parameters of ${template} (${count}):`,
    ...problems.map((p) => `  - ${p.path}: ${p.message}`),
  ].join('\n');
}

export const TASK_LIST_COLUMNS: Column<Task>[] = [
  { header: 'ID', value: (t) => t.id },
  { header: 'TEMPLATE', value: (t) => displayRef(t.template) },
  { header: 'STATUS', value: (t) => t.status },
  { header: 'STEP', value: (t) => currentStep(t) },
  { header: 'CREATED BY', value: (t) => displayRef(t.createdBy) },
  { header: 'CREATED', value: (t) => formatTime(t.createdAt) },
  { header: 'TOOK', value: (t) => taskDuration(t) },
];

/** The step a task is at (running, failed or cancelled), `-` once it completed. */
export function currentStep(task: Task): string | null {
  const step =
    task.steps.find((s) => s.status === 'running' || s.status === 'failed' || s.status === 'cancelled') ??
    (task.status === 'open' ? task.steps.find((s) => s.status === 'pending') : undefined);
  return step ? step.id : null;
}

function taskDuration(task: Task): string | null {
  if (!task.finishedAt) return null;
  return formatElapsed(Date.parse(task.finishedAt) - Date.parse(task.createdAt));
}

/** task:get: the task, its steps (status, attempts, duration, error) and its output. */
export function formatTask(task: Task): string {
  const head = formatRecord([
    ['Task', task.id],
    ['Template', displayRef(task.template)],
    ['Status', task.status],
    ['Created by', displayRef(task.createdBy)],
    ['Created', formatTime(task.createdAt)],
    ['Finished', formatTime(task.finishedAt)],
    ['Took', taskDuration(task)],
    ...(task.error
      ? ([
          ['Error', `${task.error.step ? `step ${task.error.step}: ` : ''}${task.error.code}: ${task.error.message}`],
        ] as const)
      : []),
  ]);
  const parts = [head, `Steps:\n${indent(formatSteps(task.steps))}`];
  const output = formatTaskOutput(task.output);
  if (output) parts.push(output);
  return parts.join('\n');
}

export function formatSteps(steps: readonly TaskStep[]): string {
  if (steps.length === 0) return 'none\n';
  return formatColumns(
    ['STEP', 'ACTION', 'STATUS', 'ATTEMPTS', 'DURATION', 'ERROR'],
    steps.map((s) => [
      s.id,
      s.action,
      s.status,
      s.attempts,
      s.durationMs === null ? null : formatElapsed(s.durationMs),
      s.error ? `${s.error.code}: ${s.error.message}` : null,
    ]),
  );
}

/** spec.output: `Links:` as `title  url-or-entity`, then each text under its title; '' when there is none. */
export function formatTaskOutput(output: TaskOutput | null): string {
  if (!output) return '';
  const parts: string[] = [];
  if (output.links.length > 0) {
    parts.push(
      `Links:\n${indent(
        formatColumns(
          ['TITLE', 'LINK'],
          output.links.map((l) => [
            l.title ?? l.entityRef ?? l.url,
            l.url ?? (l.entityRef ? displayRef(l.entityRef) : null),
          ]),
        ).replace(/^.*\n/, ''),
      )}`,
    );
  }
  for (const text of output.text) {
    const content = text.content.replace(/\s+$/, '');
    parts.push(`${text.title ?? 'Text'}:\n${indent(`${content}\n`)}`);
  }
  return parts.join('\n');
}

/** A dry run's files (path and size), its steps, then its output. */
export function formatDryRun(result: DryRunResult): string {
  const files =
    result.files.length === 0
      ? 'Files: none\n'
      : `Files it would write (${result.files.length}):\n${indent(
          formatColumns(
            ['PATH', 'SIZE'],
            result.files.map((f) => [`${f.path}${f.executable ? ' (executable)' : ''}`, formatBytes(fileSize(f))]),
          ),
        )}`;
  const parts = [files, `Steps:\n${indent(formatSteps(result.steps))}`];
  const output = formatTaskOutput(result.output);
  if (output) parts.push(output);
  return parts.join('\n');
}

export function fileSize(file: DryRunResult['files'][number]): number {
  if (!file.base64) return Buffer.byteLength(file.content, 'utf8');
  return Buffer.from(file.content, 'base64').length;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** task:logs: `<time> <step> <level> <message>`, the step `-` for lines of the task itself. */
export function formatTaskLogLine(entry: TaskLogEntry): string {
  return `${formatTime(entry.at)} ${entry.step ?? '-'} ${entry.level.toUpperCase().padEnd(5)} ${entry.message}`;
}

function indent(text: string, by = '  '): string {
  return text
    .split('\n')
    .map((line) => (line === '' ? line : `${by}${line}`))
    .join('\n');
}
