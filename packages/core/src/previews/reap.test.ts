import { describe, expect, it } from 'vitest';
import { selectReaped, type ReapCandidate } from './reap.ts';

const at = (m: number) => new Date(Date.UTC(2026, 0, 1, 0, m)).toISOString();
const p = (repo: string, number: number, created: number, expires: number | null = null): ReapCandidate => ({
  repo,
  number,
  createdAt: at(created),
  expiresAt: expires === null ? null : at(expires),
});

describe('selectReaped', () => {
  it('reaps previews past their time to live, with a note', () => {
    const r = selectReaped([p('a/x', 1, 0, 10), p('a/x', 2, 1, 100)], Date.parse(at(10)), new Map());
    expect(r).toEqual([{ repo: 'a/x', number: 1, note: expect.stringMatching(/time to live/) }]);
  });

  it('reaps the oldest over the cap, per repository, oldest first', () => {
    const open = [p('a/x', 3, 3), p('a/x', 1, 1), p('a/x', 2, 2), p('a/x', 4, 4), p('b/y', 9, 0)];
    const r = selectReaped(
      open,
      Date.parse(at(5)),
      new Map([
        ['a/x', 2],
        ['b/y', 1],
      ]),
    );
    expect(r.map((x) => x.number)).toEqual([1, 2]);
    expect(r[0]!.note).toMatch(/over its cap of 2/);
  });

  it('expired previews count before the cap is applied', () => {
    const open = [p('a/x', 1, 1, 2), p('a/x', 2, 2), p('a/x', 3, 3)];
    expect(selectReaped(open, Date.parse(at(5)), new Map([['a/x', 2]])).map((x) => x.number)).toEqual([1]);
  });

  it('reaps nothing under the cap and before expiry', () => {
    expect(selectReaped([p('a/x', 1, 1, 60)], Date.parse(at(5)), new Map([['a/x', 1]]))).toEqual([]);
  });
});
