import { describe, expect, it } from 'vitest';
import type { DashboardData, PanelData } from '@idp/contracts';
import { dashHeading, formatDashboard, formatPanel, formatProblem, wrap } from './dash-format.ts';

const plain = { columns: 100, colour: false };

function panel(over: Partial<PanelData>): PanelData {
  return { title: 'Requests', unit: 'req/s', query: 'q', series: [], ...over };
}

const ramp = (n: number) => Array.from({ length: n }, (_, i) => [1000 + i * 60, i] as [number, number | null]);

describe('formatPanel', () => {
  it('prints the title with its unit, then one line per series: name, sparkline, last value in the unit', () => {
    const lines = formatPanel(
      panel({
        title: 'Error ratio',
        unit: 'ratio',
        series: [
          { labels: {}, name: 'payments-api', points: ramp(8).map(([t, v]) => [t, v! / 100]), last: 0.07 },
          { labels: {}, name: 'web', points: [[1000, 0.5]], last: null },
        ],
      }),
      plain,
    );
    expect(lines[0]).toBe('Error ratio (%)');
    expect(lines[1]).toMatch(/^ {2}payments-api {2}▁+.*█+ {3}7%$/);
    expect([...lines[1]!.slice(2 + 12 + 2, 2 + 12 + 2 + 40)].every((c) => '▁▂▃▄▅▆▇█'.includes(c))).toBe(true);
    // No last from the server: the last sample drawn.
    expect(lines[2]).toBe(`  web           ${'▄'.repeat(40)}  50%`);
  });

  it('shows seconds in ms under a second, bytes in MiB', () => {
    const latency = formatPanel(
      panel({ title: 'p99', unit: 'seconds', series: [{ labels: {}, name: 'p99', points: [[1, 0.25]], last: 0.25 }] }),
      plain,
    );
    expect(latency[0]).toBe('p99 (s)');
    expect(latency[1]).toMatch(/250 ms$/);
    const memory = formatPanel(
      panel({
        title: 'RSS',
        unit: 'bytes',
        series: [{ labels: {}, name: 'r1', points: [[1, 3 * 1048576]], last: 3 * 1048576 }],
      }),
      plain,
    );
    expect(memory[1]).toMatch(/3 MiB$/);
  });

  it("says a panel's error in its place, and when it has no data", () => {
    expect(
      formatPanel(panel({ error: { code: 'OBSERVABILITY_UNAVAILABLE', message: 'Prometheus did not answer' } }), plain),
    ).toEqual(['Requests (req/s)', '  error [OBSERVABILITY_UNAVAILABLE]: Prometheus did not answer']);
    expect(formatPanel(panel({ unit: 'none' }), plain)).toEqual(['Requests', '  no data']);
  });

  it('fits a narrow terminal: long names are cut, the sparkline narrows', () => {
    const long = 'a-very-long-legend-name-that-goes-on-and-on-and-on';
    const lines = formatPanel(panel({ series: [{ labels: {}, name: long, points: ramp(60), last: 59 }] }), {
      columns: 60,
      colour: false,
    });
    expect(lines[1]!.length).toBeLessThanOrEqual(60);
    expect(lines[1]).toContain('a-very-long…');
    expect(lines[1]).toMatch(/59 req\/s$/);
  });

  it("wraps a long error to the terminal's width, continuation lines indented", () => {
    const message = `found duplicate series for the match group ${'{team="payments"} '.repeat(6)}on the right hand-side`;
    const lines = formatPanel(panel({ error: { code: 'OBSERVABILITY_QUERY_INVALID', message } }), {
      columns: 60,
      colour: false,
    });
    expect(lines.length).toBeGreaterThan(3);
    expect(lines[1]).toMatch(/^ {2}error \[OBSERVABILITY_QUERY_INVALID\]: found/);
    for (const line of lines.slice(2)) expect(line).toMatch(/^ {4}\S/);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(60);
    expect(lines.slice(1).join(' ').replace(/\s+/g, ' ').trim()).toBe(
      `error [OBSERVABILITY_QUERY_INVALID]: ${message}`.replace(/\s+/g, ' ').trim(),
    );
  });

  it('wraps at spaces and cuts only a word longer than a line', () => {
    expect(wrap('aaa bbb ccc', 7)).toEqual(['aaa bbb', 'ccc']);
    expect(wrap('x'.repeat(25), 10)).toEqual(['x'.repeat(10), 'x'.repeat(10), 'x'.repeat(5)]);
    expect(wrap('aaaa bbbb cccc dddd', 10, 2)).toEqual(['aaaa bbbb', 'cccc dddd']);
    expect(wrap('', 10)).toEqual(['']);
  });

  it('says when a panel had more series than it shows', () => {
    const lines = formatPanel(
      panel({ series: [{ labels: {}, name: 'a', points: ramp(3), last: 2 }], truncated: true }),
      plain,
    );
    expect(lines.at(-1)).toBe('  … more series matched; the first 1 are shown');
  });

  it('colours only when asked', () => {
    const coloured = formatPanel(panel({ error: { code: 'X', message: 'm' } }), { columns: 100, colour: true });
    expect(coloured.join('\n')).toContain('\x1b[');
    expect(formatPanel(panel({ error: { code: 'X', message: 'm' } }), plain).join('\n')).not.toContain('\x1b[');
  });
});

describe('formatDashboard', () => {
  const data: DashboardData = {
    name: 'payments-api',
    title: 'payments-api golden signals',
    team: 'payments',
    source: 'generated',
    service: 'payments-api',
    env: 'staging',
    start: 0,
    end: 3600,
    step: 60,
    panels: [panel({ title: 'A' }), panel({ title: 'B', unit: 'cores' })],
  };

  it('heads the panels with the title, team, env and range, a blank line before each panel', () => {
    const heading = 'payments-api golden signals (payments-api) · team payments · env staging · last 1h, step 1m';
    expect(dashHeading(data)).toEqual([heading]);
    expect(formatDashboard(data, plain)).toBe(`${heading}\n\nA (req/s)\n  no data\n\nB (cores)\n  no data\n`);
  });

  it('breaks the heading between its parts on a narrow terminal', () => {
    expect(dashHeading(data, 60)).toEqual([
      'payments-api golden signals (payments-api) · team payments',
      'env staging · last 1h, step 1m',
    ]);
  });
});

describe('formatProblem', () => {
  it('names the file and position, the field and message, then did-you-mean and the hint', () => {
    expect(
      formatProblem({
        code: 'OBSERVABILITY_DASHBOARD_INVALID',
        source: 'repository',
        team: 'payments',
        service: 'payments-api',
        release: 'v3',
        file: '.idp/dashboards/latency.yaml',
        line: 4,
        column: 7,
        field: 'panels[0].unit',
        message: 'not a unit',
        didYouMean: 'seconds',
        hint: 'Fix the file.',
      }),
    ).toBe(
      'payments-api v3 .idp/dashboards/latency.yaml:4:7  panels[0].unit: not a unit\n  did you mean "seconds"?\n  Fix the file.',
    );
    expect(
      formatProblem({
        code: 'X',
        source: 'config',
        team: '',
        file: 'observability.dashboards[1]',
        line: 1,
        column: 5,
        field: 'name',
        message: 'taken',
      }),
    ).toBe('observability.dashboards[1]:1:5  name: taken');
  });
});
