// `idp traces` as text: a table of slow requests, and one trace's span tree with each span's
// duration as a bar on the trace's time line.
import type { TraceResult, TracesResult } from '@idp/contracts';
import { formatColumns, formatTime } from './output.ts';

/** 12.3 ms, 1.42 s. */
export function formatMs(ms: number): string {
  if (ms >= 1000) return `${(ms / 1000).toFixed(ms >= 10_000 ? 1 : 2)} s`;
  return `${ms >= 100 ? Math.round(ms) : ms.toFixed(1)} ms`;
}

export function formatTraces(result: TracesResult): string {
  if (result.traces.length === 0) return '';
  return formatColumns(
    ['DURATION', 'STATUS', 'METHOD', 'PATH', 'RELEASE', 'REPLICA', 'SPANS', 'STARTED', 'TRACE'],
    result.traces.map((t) => [
      formatMs(t.durationMs),
      t.status,
      t.method,
      t.path,
      t.release,
      t.replica,
      t.spans,
      formatTime(t.start),
      t.traceId,
    ]),
  );
}

const BAR_WIDTH = 40;

/**
 * One line per span, indented by depth, with a bar placed on the trace's time line (from the
 * earliest start to the latest end): where the span began and how long it took, to scale.
 */
export function formatTraceTree(result: TraceResult, width = BAR_WIDTH): string {
  if (result.spans.length === 0) return '';
  const starts = result.spans.map((s) => Date.parse(s.start));
  const t0 = Math.min(...starts);
  const t1 = Math.max(...result.spans.map((s, i) => starts[i]! + s.durationMs));
  const total = Math.max(t1 - t0, 0.001);
  const labels = result.spans.map((s) => `${'  '.repeat(Math.min(s.depth, 20))}${s.name || '(unnamed)'}`);
  const labelWidth = Math.min(60, Math.max(...labels.map((l) => l.length)));
  const lines = result.spans.map((span, i) => {
    const from = Math.min(width - 1, Math.floor(((starts[i]! - t0) / total) * width));
    const length = Math.max(1, Math.min(width - from, Math.round((span.durationMs / total) * width)));
    const bar = `${' '.repeat(from)}${'█'.repeat(length)}${' '.repeat(width - from - length)}`;
    const label = labels[i]!.length > labelWidth ? `${labels[i]!.slice(0, labelWidth - 1)}…` : labels[i]!;
    const status = span.status === 'error' ? ' error' : '';
    return `${label.padEnd(labelWidth)}  |${bar}|  ${formatMs(span.durationMs).padStart(9)}  ${span.source} ${span.release}${status}`;
  });
  return `trace ${result.traceId} (${result.stamp.service} in ${result.stamp.env}, ${formatMs(total)})\n${lines.join('\n')}\n`;
}
