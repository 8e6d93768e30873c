import { IdpError } from '@idp/contracts';
import { parser } from '@prometheus-io/lezer-promql';

type Tree = ReturnType<typeof parser.parse>;
type SyntaxNode = Tree['topNode'];

/**
 * The query gate's rewrite: every series selector of a PromQL query gets the caller's scope
 * (e.g. team ∈ {payments} and env ∈ {staging, feature-x}) appended to its own matchers, so the
 * query can only ever read series the caller may read, whatever the rest of the query does
 * (`or`, `unless`, subqueries, label_replace, absent, offset, @ …). The query is parsed with the
 * PromQL grammar Prometheus' own UI uses; the text is rebuilt by splicing the matchers in at the
 * selectors' positions, and the result is parsed again and checked before it is handed out.
 */
export type Scope =
  | { readonly all: true }
  | { readonly matchers: ReadonlyArray<{ readonly label: string; readonly values: readonly string[] }> };

type MatcherScope = Extract<Scope, { readonly matchers: unknown }>;

export interface ScopeLimits {
  /** Longest query accepted, in UTF-8 bytes. */
  readonly maxQueryBytes: number;
}

export type ScopeResult =
  { readonly ok: true; readonly query: string } | { readonly ok: false; readonly error: IdpError };

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A query or match[] selector that parsed: the text and its tree, ready to be scoped (scopeParsed). */
export interface ParsedPromql {
  readonly text: string;
  /** The request field it came from (query or match[]), for errors. */
  readonly field: string;
  readonly tree: Tree;
}

export type ParseResult =
  { readonly ok: true; readonly parsed: ParsedPromql } | { readonly ok: false; readonly error: IdpError };

/** Rewrites `query` so that every vector selector in it carries the scope's matchers. */
export function scopeQuery(query: string, scope: Scope, limits: ScopeLimits): ScopeResult {
  const parsed = parseQuery(query, limits);
  return parsed.ok ? scopeParsed(parsed.parsed, scope) : parsed;
}

/**
 * Scopes one `match[]` series selector of /series, /labels and /label/<name>/values: it must be
 * a single vector selector (as Prometheus requires), and gets the scope's matchers like any query.
 */
export function scopeSeriesSelector(selector: string, scope: Scope, limits: ScopeLimits): ScopeResult {
  const parsed = parseSeriesSelector(selector, limits);
  return parsed.ok ? scopeParsed(parsed.parsed, scope) : parsed;
}

/**
 * Checks a query's size and syntax without a scope, so that a bad query can be refused before
 * the scope is worked out; the tree is kept for scopeParsed, which does not parse it again.
 */
export function parseQuery(query: string, limits: ScopeLimits): ParseResult {
  const field = 'query';
  const tooLarge = sizeError(query, limits, field);
  if (tooLarge) return { ok: false, error: tooLarge };
  const tree = parser.parse(query);
  const invalid = parseError(query, tree, field);
  if (invalid) return { ok: false, error: invalid };
  return { ok: true, parsed: { text: query, field, tree } };
}

/** parseQuery for a `match[]` selector: also one vector selector and nothing else. */
export function parseSeriesSelector(selector: string, limits: ScopeLimits): ParseResult {
  const field = 'match[]';
  const tooLarge = sizeError(selector, limits, field);
  if (tooLarge) return { ok: false, error: tooLarge };
  const tree = parser.parse(selector);
  const invalid = parseError(selector, tree, field);
  if (invalid) return { ok: false, error: invalid };
  const top = tree.topNode.firstChild;
  if (top?.name !== 'VectorSelector' || top.nextSibling !== null) {
    const at = position(selector, top?.from ?? 0);
    return {
      ok: false,
      error: invalidError(
        `match[] must be one series selector such as {team="payments"} or up{job="idp"} (line ${at.line}:${at.column})`,
        field,
        at,
      ),
    };
  }
  return { ok: true, parsed: { text: selector, field, tree } };
}

/** A parsed query or selector with the scope's matchers on every vector selector (as is for `all`). */
export function scopeParsed(parsed: ParsedPromql, scope: Scope): ScopeResult {
  if ('all' in scope) return { ok: true, query: parsed.text };
  return spliceAndVerify(parsed.text, parsed.tree, scope, parsed.field);
}

/** A selector of every series the scope may read: the match[] /labels needs when none is given. */
export function scopedMatchAll(scope: Scope): string {
  if ('all' in scope) return '{__name__=~".+"}';
  return `{__name__=~".+", ${scopeMatcherTexts(scope).join(', ')}}`;
}

/**
 * The matchers the scope appends, as PromQL text. An empty value list can match nothing
 * (`l="", l!=""`: absent and present at once); so does a scope without any matcher, which fails
 * closed rather than reading everything.
 */
export function scopeMatcherTexts(scope: MatcherScope): string[] {
  if (scope.matchers.length === 0) return ['__name__=""', '__name__!=""'];
  const texts: string[] = [];
  for (const { label, values } of scope.matchers) {
    if (!LABEL_NAME.test(label)) throw new Error(`scope label ${JSON.stringify(label)} is not a label name`);
    if (values.length === 0) texts.push(`${label}=""`, `${label}!=""`);
    else if (values.length === 1) texts.push(`${label}=${promqlString(values[0] ?? '')}`);
    else texts.push(`${label}=~${promqlString(`^(?:${values.map(regexEscape).join('|')})$`)}`);
  }
  return texts;
}

/** Vector selectors of `query` that lack one of the scope's matchers (empty: all carry them). */
export function unscopedSelectors(query: string, scope: Scope): Array<{ from: number; to: number }> {
  if ('all' in scope) return [];
  return unscopedIn(query, parser.parse(query), scopeMatcherTexts(scope));
}

function unscopedIn(query: string, tree: Tree, wanted: readonly string[]): Array<{ from: number; to: number }> {
  const missing: Array<{ from: number; to: number }> = [];
  for (const selector of vectorSelectors(tree)) {
    const present = new Set<string>();
    const matchers = selector.getChild('LabelMatchers');
    for (let child = matchers?.firstChild ?? null; child !== null; child = child.nextSibling) {
      present.add(query.slice(child.from, child.to));
    }
    if (!wanted.every((text) => present.has(text))) missing.push({ from: selector.from, to: selector.to });
  }
  return missing;
}

function spliceAndVerify(text: string, tree: Tree, scope: MatcherScope, field: string): ScopeResult {
  const wanted = scopeMatcherTexts(scope);
  const inserted = wanted.join(', ');
  const insertions: Array<{ at: number; text: string }> = [];
  for (const selector of vectorSelectors(tree)) {
    const matchers = selector.getChild('LabelMatchers');
    if (matchers === null) {
      const name = selector.getChild('Identifier');
      if (name === null)
        return {
          ok: false,
          error: invalidError('a series selector has no name and no matchers', field, position(text, selector.from)),
        };
      insertions.push({ at: name.to, text: `{${inserted}}` });
      continue;
    }
    let last: SyntaxNode | null = null;
    for (let child = matchers.firstChild; child !== null; child = child.nextSibling) {
      if (child.name !== 'LineComment') last = child;
    }
    insertions.push(last === null ? { at: matchers.from + 1, text: inserted } : { at: last.to, text: `, ${inserted}` });
  }
  insertions.sort((a, b) => a.at - b.at);
  let out = '';
  let cursor = 0;
  for (const { at, text: piece } of insertions) {
    out += text.slice(cursor, at) + piece;
    cursor = at;
  }
  out += text.slice(cursor);
  // Belt and braces: the rewrite must parse and every selector must carry the scope (one parse for both).
  const again = parser.parse(out);
  if (firstError(again) !== null || unscopedIn(out, again, wanted).length > 0) {
    return {
      ok: false,
      error: invalidError('the query could not be restricted to what you may read', field, position(text, 0)),
    };
  }
  return { ok: true, query: out };
}

function vectorSelectors(tree: Tree): SyntaxNode[] {
  const found: SyntaxNode[] = [];
  tree.iterate({
    enter(ref) {
      if (ref.name === 'VectorSelector') found.push(ref.node);
    },
  });
  return found;
}

function firstError(tree: Tree): number | null {
  let at: number | null = null;
  tree.iterate({
    enter(ref) {
      if (at !== null) return false;
      if (ref.type.isError) {
        at = ref.from;
        return false;
      }
      return undefined;
    },
  });
  return at;
}

function parseError(text: string, tree: Tree, field: string): IdpError | undefined {
  if (tree.topNode.firstChild === null || text.trim() === '') {
    return invalidError(`${field} is empty: no expression found`, field, { line: 1, column: 1 });
  }
  const at = firstError(tree);
  if (at === null) return undefined;
  const where = position(text, at);
  const near = text.slice(at, at + 20).split('\n')[0] ?? '';
  const what = near === '' ? 'unexpected end of input' : `unexpected ${JSON.stringify(near)}`;
  return invalidError(`parse error at line ${where.line}:${where.column}: ${what}`, field, where);
}

function sizeError(text: string, limits: ScopeLimits, field: string): IdpError | undefined {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes <= limits.maxQueryBytes) return undefined;
  return new IdpError(
    'OBSERVABILITY_QUERY_TOO_LARGE',
    `${field} is ${bytes} bytes, more than observability.query.maxQueryBytes (${limits.maxQueryBytes})`,
    { field, errorType: 'bad_data', bytes, maxQueryBytes: limits.maxQueryBytes },
  );
}

function invalidError(message: string, field: string, at: { line: number; column: number }): IdpError {
  return new IdpError('OBSERVABILITY_QUERY_INVALID', message, {
    field,
    errorType: 'bad_data',
    line: at.line,
    column: at.column,
  });
}

/** 1-based line and column (in characters) of an offset. */
export function position(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lines = before.split('\n');
  return { line: lines.length, column: (lines[lines.length - 1]?.length ?? 0) + 1 };
}

/** A double-quoted PromQL string literal (Go escapes), refusing text Go could not read back. */
export function promqlString(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (code >= 0xd800 && code <= 0xdfff) throw new Error('a scope value holds a lone surrogate');
    if (ch === '\\' || ch === '"') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** RE2 (Go regexp) quoting of a literal, like regexp.QuoteMeta. */
export function regexEscape(value: string): string {
  return value.replace(/[\\.+*?()|[\]{}^$]/g, (ch) => `\\${ch}`);
}
