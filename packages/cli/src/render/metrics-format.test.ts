import { describe, expect, it } from 'vitest';
import { IdpError } from '@idp/contracts';
import { formatInstant, formatRange, onGrid, rangeGrid, splitLabels } from './metrics-format.ts';

const view = { unit: 'none' as const, columns: 100 };

describe('splitLabels', () => {
  it('keeps the labels that tell rows apart and names those every row shares', () => {
    const { varying, constant } = splitLabels([
      { team: 'payments', service: 'payments-api', env: 'staging' },
      { team: 'payments', service: 'payments-web', env: 'staging' },
      { team: 'payments', service: 'payments-web', env: 'staging', code: '5xx' },
    ]);
    expect(varying).toEqual(['code', 'service']);
    expect(constant).toEqual({ env: 'staging', team: 'payments' });
  });

  it('keeps every label of a single row, the metric name first', () => {
    expect(splitLabels([{ job: 'idp', __name__: 'up' }])).toEqual({ varying: ['__name__', 'job'], constant: {} });
  });
});

describe('formatInstant', () => {
  it('prints one row per series with the varying labels and the formatted value', () => {
    const { text, note } = formatInstant(
      {
        resultType: 'vector',
        result: [
          { metric: { service: 'payments-api', team: 'payments' }, value: [1, '12.3456'] },
          { metric: { service: 'payments-web', team: 'payments' }, value: [1, '0.5'] },
        ],
      },
      { unit: 'req/s', columns: 100 },
    );
    expect(text).toBe('SERVICE       VALUE\npayments-api  12.35 req/s\npayments-web  0.5 req/s\n');
    expect(note).toBe('team="payments"');
  });

  it('prints a series without labels, a scalar and an empty answer', () => {
    expect(formatInstant({ resultType: 'vector', result: [{ metric: {}, value: [1, '3'] }] }, view).text).toBe(
      'VALUE\n3\n',
    );
    expect(formatInstant({ resultType: 'scalar', result: [1, '0.25'] }, { unit: 'ratio', columns: 100 }).text).toBe(
      '25%\n',
    );
    expect(formatInstant({ resultType: 'vector', result: [] }, view)).toEqual({ text: '', note: '' });
  });
});

describe('range answers', () => {
  it('places samples on the grid, null where a step had none', () => {
    const grid = { start: 100, end: 160, step: 15 };
    expect(
      onGrid(
        [
          [100, '1'],
          [130, '3'],
          [160, '5'],
        ],
        grid,
      ),
    ).toEqual([1, null, 3, null, 5]);
  });

  it('prints labels, a fixed-width sparkline, then min, max and last', () => {
    const grid = { start: 0, end: 70, step: 10 };
    const { text } = formatRange(
      [
        {
          metric: { service: 'a' },
          values: [0, 1, 2, 3, 4, 5, 6, 7].map((v) => [v * 10, String(v)] as [number, string]),
        },
        { metric: { service: 'b' }, values: [[70, '2']] },
      ],
      grid,
      { unit: 'none', columns: 100 },
    );
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^SERVICE {2}LAST 70s, STEP 10s {2,}MIN {2}MAX {2}LAST$/);
    expect(lines[1]).toBe(`a        ${'▁▁▁▁▁▂▂▂▂▂▃▃▃▃▃▄▄▄▄▄▅▅▅▅▅▆▆▆▆▆▇▇▇▇▇█████'}  0    7    7`);
    expect(lines[2]).toBe(`b        ${' '.repeat(35)}▄▄▄▄▄  2    2    2`);
  });

  it('narrows the sparkline to fit the terminal', () => {
    const grid = { start: 0, end: 10, step: 10 };
    const { text } = formatRange(
      [
        { metric: { s: 'x' }, values: [[0, '1'] as [number, string]] },
        { metric: { s: 'y' }, values: [[10, '1'] as [number, string]] },
      ],
      grid,
      { unit: 'none', columns: 40 },
    );
    // 40 columns less S, MIN and MAX (and two spaces after each), the sparkline's two and LAST: 21.
    const [head, x] = text.split('\n');
    expect(x).toBe(`x  ${'▄'.repeat(11)}${' '.repeat(10)}  1    1    1`);
    expect(head).toHaveLength(40);
  });
});

describe('rangeGrid', () => {
  it('ends now, starts --since before, steps so each sparkline column is one point', () => {
    expect(rangeGrid('1h', undefined, 1_000_000_500)).toEqual({ start: 1_000_000 - 3600, end: 1_000_000, step: 90 });
    expect(rangeGrid('10s', undefined, 0)).toEqual({ start: -10, end: 0, step: 1 });
    expect(rangeGrid('1h', '30s', 0).step).toBe(30);
    expect(rangeGrid('1h', '15', 0).step).toBe(15);
  });

  it('refuses what is not a duration, as a usage error', () => {
    for (const [since, step] of [
      ['an hour', undefined],
      ['1h', '0s'],
      ['1h', 'fast'],
    ] as const) {
      let caught: unknown;
      try {
        rangeGrid(since, step, 0);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(IdpError);
      expect((caught as IdpError).code).toBe('USAGE');
      expect((caught as IdpError).exitCode).toBe(2);
    }
  });
});
