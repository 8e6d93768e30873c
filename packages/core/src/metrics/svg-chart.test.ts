import { describe, expect, it } from 'vitest';
import { barChart } from './svg-chart.ts';

const bars = (svg: string) =>
  [
    ...svg.matchAll(
      /<rect x="[\d.]+" y="([\d.]+)" width="[\d.]+" height="([\d.]+)" fill="[^"]+"><title>([^<]*)<\/title>/g,
    ),
  ].map((m) => ({ y: Number(m[1]), height: Number(m[2]), title: m[3] }));

describe('SVG bar charts for the report', () => {
  it('draws one bar per value, in proportion to a rounded axis, each with a readable title', () => {
    const svg = barChart({
      title: 'Deploys per week',
      labels: ['2026-11-02', '2026-11-09'],
      series: [
        { name: 'payments', values: [4, 8] },
        { name: 'identity', values: [2, 0] },
      ],
      unit: 'deploys',
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('role="img" aria-label="Deploys per week"');
    const b = bars(svg);
    expect(b.map((x) => x.title)).toEqual([
      'payments, 2026-11-02: 4 deploys',
      'identity, 2026-11-02: 2 deploys',
      'payments, 2026-11-09: 8 deploys',
      'identity, 2026-11-09: 0 deploys',
    ]);
    // The axis tops at 10 (the nice ceiling of 8): 8 is 4/5 of the plot's 172 px, 4 half of that.
    expect(b[2]!.height).toBeCloseTo(137.6, 1);
    expect(b[0]!.height).toBeCloseTo(68.8, 1);
    expect(b[3]!.height).toBe(0);
    expect(svg).not.toMatch(/<script|href=|url\(/);
  });

  it('escapes every label and name, so data cannot add markup to the report', () => {
    const svg = barChart({
      title: 'Team <b>"x"</b> & co',
      labels: ['</text><script>alert(1)</script>'],
      series: [{ name: "o'brien <img src=x>", values: [1] }],
    });
    expect(svg).not.toContain('<script');
    expect(svg).not.toContain('<img');
    expect(svg).not.toContain('<b>');
    expect(svg).toContain('Team &lt;b&gt;&quot;x&quot;&lt;/b&gt; &amp; co');
    expect(svg).toContain('o&apos;brien &lt;img src=x&gt;');
  });

  it('says "no data" for an empty window instead of drawing empty axes', () => {
    for (const svg of [
      barChart({ title: 'Cost', labels: [], series: [] }),
      barChart({ title: 'Cost', labels: ['a'], series: [{ name: 's', values: [0] }] }),
    ]) {
      expect(svg).toContain('>no data</text>');
      expect(bars(svg)).toEqual([]);
    }
  });
});
