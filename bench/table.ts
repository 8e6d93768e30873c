// The one table `npm run bench` ends with: every figure that has a peer, beside the peer's, with
// the ratio and idp's target. Benchmarks add their rows as they measure; bench/run.ts prints them
// after the last one, so a whole run reads as one table whatever ran.

export interface TableRow {
  bench: string;
  figure: string;
  /** idp's figure, with its unit (e.g. "102 ms"). */
  idp: string;
  /** What idp is compared with in the same run (e.g. "nginx 1.22", "Backstage, SQLite"). */
  peer: string;
  peerValue: string;
  /** How idp compares, in the reader's terms ("4.4× faster", "2.06× nginx's"). */
  ratio: string;
  target: string;
  /** "met", "MISSED" or "-" when there is no target. */
  result: string;
}

const rows: TableRow[] = [];

export function addRow(row: TableRow): void {
  rows.push(row);
}

export function tableRows(): readonly TableRow[] {
  return rows;
}

/** The rows as an aligned text table (also valid Markdown). */
export function formatTable(list: readonly TableRow[]): string {
  const cols = ['bench', 'figure', 'idp', 'peer', 'peerValue', 'ratio', 'target', 'result'] as const;
  const head: Record<(typeof cols)[number], string> = {
    bench: 'bench',
    figure: 'figure',
    idp: 'idp',
    peer: 'peer',
    peerValue: 'peer’s figure',
    ratio: 'ratio',
    target: 'target',
    result: 'result',
  };
  const cells = [cols.map((c) => head[c]), ...list.map((r) => cols.map((c) => r[c]))];
  const widths = cols.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  const line = (v: readonly string[]) => `| ${v.map((s, i) => s.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(cells[0]!), line(widths.map((w) => '-'.repeat(w))), ...cells.slice(1).map(line)].join('\n');
}
