export const OUTPUT_FORMATS = ['table', 'json', 'yaml'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export interface Column<R> {
  header: string;
  value: (row: R) => unknown;
}

export interface Field<D> {
  label: string;
  value: (data: D) => unknown;
}

/** How `--output table` shows a result; json and yaml always show the API object itself. */
export type TableSpec<D> =
  | { kind: 'list'; rows: (data: D) => readonly unknown[]; columns: Column<never>[]; empty?: string }
  | { kind: 'record'; fields: Field<D>[] }
  | { kind: 'text'; text: (data: D) => string }; // '' prints nothing: the stderr note says it all

/** A list table; the helper keeps the row type of `rows` and `columns` in step. */
export function listSpec<D, R>(rows: (data: D) => readonly R[], columns: Column<R>[], empty?: string): TableSpec<D> {
  return { kind: 'list', rows, columns: columns as Column<never>[], ...(empty ? { empty } : {}) };
}

export function recordSpec<D>(fields: Field<D>[]): TableSpec<D> {
  return { kind: 'record', fields };
}

export interface Rendered {
  stdout: string;
  /** Said to the person, not the pipe: goes to stderr. */
  note?: string;
}

export async function renderData<D>(data: D, format: OutputFormat, spec: TableSpec<D>): Promise<Rendered> {
  switch (format) {
    case 'json':
      return { stdout: toJson(data) };
    case 'yaml': {
      // Loaded on demand: most invocations never print YAML, and start-up time matters.
      const { stringify } = await import('yaml');
      return { stdout: stringify(data) };
    }
    case 'table':
      return renderTable(data, spec);
  }
}

export function toJson(data: unknown): string {
  return `${JSON.stringify(data, null, 2)}\n`;
}

function renderTable<D>(data: D, spec: TableSpec<D>): Rendered {
  switch (spec.kind) {
    case 'text':
      return { stdout: ensureNewline(spec.text(data)) };
    case 'record':
      return { stdout: formatRecord(spec.fields.map((f) => [f.label, f.value(data)])) };
    case 'list': {
      const rows = spec.rows(data);
      if (rows.length === 0) return { stdout: '', ...(spec.empty ? { note: spec.empty } : {}) };
      const columns = spec.columns as Column<unknown>[];
      return {
        stdout: formatColumns(
          columns.map((c) => c.header),
          rows.map((r) => columns.map((c) => c.value(r))),
        ),
      };
    }
  }
}

/** `Label:  value` lines with the values aligned. */
export function formatRecord(pairs: ReadonlyArray<readonly [string, unknown]>): string {
  const width = Math.max(0, ...pairs.map(([label]) => label.length + 1));
  return pairs.map(([label, value]) => `${`${label}:`.padEnd(width)}  ${formatCell(value)}`).join('\n') + '\n';
}

/** Left-aligned columns two spaces apart; no trailing blanks so the output diffs cleanly. */
export function formatColumns(headers: readonly string[], rows: ReadonlyArray<readonly unknown[]>): string {
  const cells = rows.map((row) => row.map(formatCell));
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i]!.length)));
  const line = (values: readonly string[]) =>
    values
      .map((v, i) => (i === values.length - 1 ? v : v.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(headers), ...cells.map(line)].join('\n') + '\n';
}

export function formatCell(value: unknown): string {
  if (value === null || value === undefined || value === '') return '-';
  if (Array.isArray(value)) return value.length === 0 ? '-' : value.map(formatCell).join(', ');
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value).replace(/\s*\n\s*/g, ' ');
}

/** ISO timestamps without the milliseconds: precise enough for people, still sortable. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '-';
  return iso.replace(/\.\d+(?=Z$)/, '');
}

function ensureNewline(text: string): string {
  return text === '' || text.endsWith('\n') ? text : `${text}\n`;
}
