import { describe, expect, it } from 'vitest';
import { formatCell, formatColumns, formatRecord, formatTime, listSpec, recordSpec, renderData } from './output.ts';

describe('table rendering', () => {
  it('aligns columns without trailing blanks', () => {
    expect(
      formatColumns(
        ['ID', 'NAME', 'NOTE'],
        [
          ['a', 'alice', null],
          ['bbbb', 'bo', 'x'],
        ],
      ),
    ).toBe('ID    NAME   NOTE\na     alice  -\nbbbb  bo     x\n');
  });

  it('aligns record values after their labels', () => {
    expect(
      formatRecord([
        ['User', 'alice'],
        ['Permitted by', ['p1', 'p2']],
      ]),
    ).toBe('User:          alice\nPermitted by:  p1, p2\n');
  });

  it('shows missing values as "-" and flattens the rest to one line', () => {
    expect([null, undefined, '', []].map(formatCell)).toEqual(['-', '-', '-', '-']);
    expect(formatCell(true)).toBe('yes');
    expect(formatCell('two\nlines')).toBe('two lines');
    expect(formatCell({ a: 1 })).toBe('{"a":1}');
  });

  it('drops milliseconds from timestamps', () => {
    expect(formatTime('2025-01-02T03:04:05.678Z')).toBe('2025-01-02T03:04:05Z');
    expect(formatTime(null)).toBe('-');
  });
});

describe('renderData', () => {
  const data = { items: [{ id: 'a', n: 1 }] };
  const spec = listSpec<typeof data, { id: string; n: number }>(
    (d) => d.items,
    [{ header: 'ID', value: (r) => r.id }],
    'Nothing.',
  );

  it('prints json and yaml as the API object, whatever the table spec', async () => {
    expect((await renderData(data, 'json', spec)).stdout).toBe(
      '{\n  "items": [\n    {\n      "id": "a",\n      "n": 1\n    }\n  ]\n}\n',
    );
    expect((await renderData(data, 'yaml', spec)).stdout).toBe('items:\n  - id: a\n    n: 1\n');
  });

  it('puts the empty-list message on the note, not stdout', async () => {
    expect(await renderData({ items: [] }, 'table', spec)).toEqual({ stdout: '', note: 'Nothing.' });
  });

  it('renders a record', async () => {
    const rendered = await renderData(
      { a: 1 },
      'table',
      recordSpec<{ a: number }>([{ label: 'A', value: (d) => d.a }]),
    );
    expect(rendered.stdout).toBe('A:  1\n');
  });
});
