import { parser } from '@prometheus-io/lezer-promql';
import { describe, expect, it } from 'vitest';
import { scopedMatchAll, scopeQuery, scopeSeriesSelector, type Scope } from './promql-scope.ts';
import { hostileCorpus } from '../../../../test/support/promql-corpus.ts';

const limits = { maxQueryBytes: 4096 };
const payments: Scope = {
  matchers: [
    { label: 'team', values: ['payments'] },
    { label: 'env', values: ['staging', 'feature-x'] },
  ],
};
const ENV = 'env=~"^(?:staging|feature-x)$"';

function rewrite(query: string, scope: Scope = payments): string {
  const result = scopeQuery(query, scope, limits);
  if (!result.ok) throw new Error(`${query}: ${result.error.message}`);
  return result.query;
}

type Matcher = { label: string; op: string; value: string };

/** Reads a double-quoted string literal (the scope's are JSON-compatible); others stay raw and never count as scope. */
function unquote(literal: string): string {
  try {
    return literal.startsWith('"') ? (JSON.parse(literal) as string) : literal;
  } catch {
    return literal;
  }
}

/** Every vector selector of the query with its label matchers, read from the parse tree. */
function selectorsOf(query: string): Matcher[][] {
  const tree = parser.parse(query);
  const selectors: Matcher[][] = [];
  tree.iterate({
    enter(ref) {
      expect(ref.type.isError, `error node in ${query}`).toBe(false);
      if (ref.name !== 'VectorSelector') return;
      const matchers: Matcher[] = [];
      const list = ref.node.getChild('LabelMatchers');
      for (let m = list?.firstChild ?? null; m !== null; m = m.nextSibling) {
        if (m.name !== 'UnquotedLabelMatcher') continue;
        const label = m.getChild('LabelName');
        const op = m.getChild('MatchOp');
        const value = m.getChild('StringLiteral');
        if (!label || !op || !value) continue;
        matchers.push({
          label: query.slice(label.from, label.to),
          op: query.slice(op.from, op.to),
          value: unquote(query.slice(value.from, value.to)),
        });
      }
      selectors.push(matchers);
    },
  });
  return selectors;
}

/** True when the matcher admits only values from `allowed` (checked on the allowed values and foreign ones). */
function restricts(m: Matcher, allowed: readonly string[]): boolean {
  const foreign = ['identity', '', 'payments2', 'xpayments', 'staging|identity', '.*', 'PAYMENTS'];
  if (m.op === '=') return allowed.includes(m.value);
  if (m.op !== '=~') return false;
  const re = new RegExp(`^(?:${m.value})$`, 'u');
  return allowed.every((v) => re.test(v)) && foreign.filter((f) => !allowed.includes(f)).every((f) => !re.test(f));
}

function expectScoped(query: string, scope: Scope = payments): void {
  if ('all' in scope) return;
  for (const matchers of selectorsOf(query)) {
    for (const { label, values } of scope.matchers) {
      expect(
        matchers.some((m) => m.label === label && restricts(m, values)),
        `${label} not restricted in ${query}`,
      ).toBe(true);
    }
  }
}

describe('scopeQuery rewrites', () => {
  it.each([
    ['foo', `foo{team="payments", ${ENV}}`],
    ['foo{}', `foo{team="payments", ${ENV}}`],
    ['foo{a="b",}', `foo{a="b", team="payments", ${ENV},}`],
    ['foo{team=~".+"}', `foo{team=~".+", team="payments", ${ENV}}`],
    ['{__name__=~".+"}', `{__name__=~".+", team="payments", ${ENV}}`],
    ['rate(x[5m])', `rate(x{team="payments", ${ENV}}[5m])`],
    ['x offset 1h @ start()', `x{team="payments", ${ENV}} offset 1h @ start()`],
    ['max_over_time(x[1h:5m])', `max_over_time(x{team="payments", ${ENV}}[1h:5m])`],
    ['a or b', `a{team="payments", ${ENV}} or b{team="payments", ${ENV}}`],
    ['absent(up)', `absent(up{team="payments", ${ENV}})`],
    ['x{a="b" # note\n}', `x{a="b", team="payments", ${ENV} # note\n}`],
    ['vector(1)', 'vector(1)'],
    ['1 + 2', '1 + 2'],
  ])('%s', (query, expected) => {
    expect(rewrite(query)).toBe(expected);
  });

  it('uses an anchored, escaped regex for several values and a plain match for one', () => {
    const scope: Scope = { matchers: [{ label: 'team', values: ['a.b', 'c|d', 'e"f\\g'] }] };
    const out = rewrite('x', scope);
    expect(out).toBe('x{team=~"^(?:a\\\\.b|c\\\\|d|e\\"f\\\\\\\\g)$"}');
    expectScoped(out, scope);
  });

  it('matches nothing for an empty value list or an empty scope', () => {
    expect(rewrite('x', { matchers: [{ label: 'team', values: [] }] })).toBe('x{team="", team!=""}');
    expect(rewrite('x', { matchers: [] })).toBe('x{__name__="", __name__!=""}');
  });

  it('leaves an admin query as it is, but still parses it', () => {
    expect(rewrite('sum(x) by (team)', { all: true })).toBe('sum(x) by (team)');
    expect(scopeQuery('sum(', { all: true }, limits).ok).toBe(false);
  });

  it('refuses a query that does not parse with bad_data and the position', () => {
    const result = scopeQuery('sum(rate(x[5m])\n  by (team', payments, limits);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe('OBSERVABILITY_QUERY_INVALID');
    expect(result.error.details).toMatchObject({ errorType: 'bad_data', line: 2 });
    expect(result.error.message).toMatch(/line 2:\d+/);
  });

  it('refuses a query longer than maxQueryBytes', () => {
    const result = scopeQuery(`x{a="${'é'.repeat(40)}"}`, payments, { maxQueryBytes: 64 });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('OBSERVABILITY_QUERY_TOO_LARGE');
  });
});

describe('scopeSeriesSelector', () => {
  it('scopes one selector and refuses anything else', () => {
    expect(scopeSeriesSelector('up{job="x"}', payments, limits)).toEqual({
      ok: true,
      query: `up{job="x", team="payments", ${ENV}}`,
    });
    for (const bad of ['sum(up)', 'up or x', 'rate(up[5m])', 'up{', '']) {
      const result = scopeSeriesSelector(bad, payments, limits);
      expect(result.ok, bad).toBe(false);
      if (!result.ok) expect(result.error.code).toBe('OBSERVABILITY_QUERY_INVALID');
    }
  });

  it('builds a match-everything selector within the scope', () => {
    const all = scopedMatchAll(payments);
    expect(all).toBe(`{__name__=~".+", team="payments", ${ENV}}`);
    expectScoped(all);
  });
});

describe('hostile corpus', () => {
  const corpus = hostileCorpus();

  it('has at least 200 queries', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(200);
  });

  it('either refuses each cleanly or scopes every selector of its rewrite', () => {
    let rewritten = 0;
    let refused = 0;
    const started = performance.now();
    for (const query of corpus) {
      const result = scopeQuery(query, payments, limits);
      if (!result.ok) {
        expect(['OBSERVABILITY_QUERY_INVALID', 'OBSERVABILITY_QUERY_TOO_LARGE'], query).toContain(result.error.code);
        expect(result.error.message.length).toBeGreaterThan(0);
        refused += 1;
        continue;
      }
      expectScoped(result.query);
      rewritten += 1;
    }
    const perQueryMs = (performance.now() - started) / corpus.length;
    expect(rewritten).toBeGreaterThan(150);
    expect(refused).toBeGreaterThan(5);
    expect(perQueryMs).toBeLessThan(20);
  });

  it('scopes the same corpus for a single team and env, and for several of each', () => {
    const scopes: Scope[] = [
      { matchers: [{ label: 'team', values: ['identity'] }] },
      {
        matchers: [
          { label: 'team', values: ['payments', 'identity'] },
          { label: 'env', values: ['production'] },
        ],
      },
    ];
    for (const scope of scopes) {
      for (const query of corpus) {
        const result = scopeQuery(query, scope, limits);
        if (result.ok) expectScoped(result.query, scope);
      }
    }
  });
});
