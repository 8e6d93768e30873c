// Small pieces shared by the YAML file parsers that report problems with positions
// (deploy.yaml, dashboards): reading a value at a schema path, naming a value in a message,
// and ordering problems as they appear in the file.
import { SMALL_YAML_LIMITS, type YamlError } from './limits.ts';

export type ValuePath = ReadonlyArray<string | number>;

/** The value at `path` inside parsed YAML data, or undefined when the path does not lead anywhere. */
export function valueAt(data: unknown, path: ValuePath): unknown {
  let current = data;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}

/** A value as a message shows it: quoted text (shortened), numbers and booleans as written, else its kind. */
export function showValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  return describeValue(value);
}

/** What kind of value it is, in words: a list, a mapping, the text "…", the number 3. */
export function describeValue(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object' && value !== null) return 'a mapping';
  if (typeof value === 'string') return `the text ${showValue(value)}`;
  if (typeof value === 'number') return `the number ${value}`;
  return String(value);
}

/** Problems in file order (line, then column), those at one place in the order they were found. */
export function sortByPosition<T extends { line: number; column: number }>(problems: T[]): T[] {
  return problems
    .map((problem, index) => ({ problem, index }))
    .sort((a, b) => a.problem.line - b.problem.line || a.problem.column - b.problem.column || a.index - b.index)
    .map(({ problem }) => problem);
}

/** The one problem reported for a small YAML file (deploy.yaml, a dashboard) over the parsing limits. */
export function limitProblem(
  file: string,
  err: YamlError,
  expected: string,
): { file: string; line: number; column: number; field: string; message: string; expected: string; hint: string } {
  return {
    file,
    line: err.line ?? 1,
    column: err.column ?? 1,
    field: '',
    message: err.reason,
    expected,
    hint: `Keep the file under ${SMALL_YAML_LIMITS.maxBytes / 1024} KiB and write values out instead of repeating them through anchors and aliases.`,
  };
}
