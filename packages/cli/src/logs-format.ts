import type { LogStream, LogStreamLabels, LogsResult } from '@idp/contracts';

export interface LogEntry {
  ns: string;
  stream: LogStreamLabels;
  line: string;
}

/** Every line of a Loki streams answer, oldest first (times compared exactly, as the ns strings they are). */
export function logEntries(streams: readonly LogStream[]): LogEntry[] {
  return streams
    .flatMap((stream) => stream.values.map(([ns, line]) => ({ ns, stream: stream.stream, line })))
    .sort((a, b) => compareNs(a.ns, b.ns));
}

function compareNs(a: string, b: string): number {
  return a.length - b.length || (a < b ? -1 : a > b ? 1 : 0);
}

/** An ns timestamp as ISO-8601 UTC with milliseconds. */
export function logTime(ns: string): string {
  const ms = Number(BigInt(ns) / 1_000_000n);
  return new Date(ms).toISOString();
}

const LEVEL_COLOURS: Record<NonNullable<LogStreamLabels['level']>, string> = {
  trace: '2',
  debug: '2',
  info: '36',
  warn: '33',
  error: '31',
  fatal: '1;31',
};

/** `<time> <release> r<N> <line>`; with colour (for a terminal) the time is dim and the line takes its level's colour. */
export function formatLogEntry(entry: LogEntry, colour: boolean): string {
  const time = logTime(entry.ns);
  const where = `${entry.stream.release} r${entry.stream.replica}`;
  if (!colour) return `${time} ${where} ${entry.line}`;
  const level = entry.stream.level;
  const line = level ? `\x1b[${LEVEL_COLOURS[level]}m${entry.line}\x1b[0m` : entry.line;
  return `\x1b[2m${time}\x1b[0m \x1b[35m${where}\x1b[0m ${line}`;
}

/** The whole answer as text, one line each, oldest first ('' when there is none). */
export function formatLogs(result: LogsResult, colour: boolean): string {
  return logEntries(result.data.result)
    .map((entry) => `${formatLogEntry(entry, colour)}\n`)
    .join('');
}

/** Colour only on a terminal, and never with NO_COLOR set. */
export function useColour(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): boolean {
  return stream.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '');
}
