// The Nunjucks engine of the render sandbox, as Backstage's scaffolder configures it: `${{ }}`
// variable delimiters, `{% %}` tags, autoescape off, undefined renders as nothing, Backstage's
// filters beside Nunjucks' own. Loaded only inside the worker (worker.ts), which locks it down:
// templates see plain data and cannot reach a constructor, a prototype or a file.
import nunjucks from 'nunjucks';
import { BACKSTAGE_FILTERS } from './filters.ts';
import type { RenderFailure, RenderItem, RenderResult } from './protocol.ts';

const TAGS = { variableStart: '${{', variableEnd: '}}' };

/** Member and variable names no template may read: the ways from data to Function and the process. */
const BLOCKED = new Set([
  'constructor',
  'prototype',
  '__proto__',
  '__defineGetter__',
  '__defineSetter__',
  '__lookupGetter__',
  '__lookupSetter__',
  'caller',
  'callee',
  'arguments',
]);

interface NunjucksInternals {
  runtime: {
    memberLookup(obj: unknown, key: unknown): unknown;
    contextOrFrameLookup(context: unknown, frame: unknown, name: string): unknown;
  };
  parser: { parse(src: string, extensions: unknown[], opts: object): { children: NunjucksNode[] } };
  nodes: { Output: new () => NunjucksNode; TemplateData: new () => NunjucksNode };
}
interface NunjucksNode {
  children?: NunjucksNode[];
}

const internals = nunjucks as unknown as NunjucksInternals;

export class SandboxAccessError extends Error {}

function blockedName(key: unknown): string | null {
  const name = typeof key === 'string' ? key : typeof key === 'number' ? String(key) : null;
  if (name === null) return '[non-string key]';
  return BLOCKED.has(name) ? name : null;
}

/** Replace Nunjucks' member and variable lookups (every `a.b`, `a['b']` and `name` goes through them). */
function guardLookups(): void {
  const { runtime } = internals;
  const memberLookup = runtime.memberLookup.bind(runtime);
  const contextOrFrameLookup = runtime.contextOrFrameLookup.bind(runtime);
  runtime.memberLookup = (obj, key) => {
    const blocked = blockedName(key);
    if (blocked !== null) throw new SandboxAccessError(`templates may not read "${blocked}"`);
    return memberLookup(obj, key);
  };
  runtime.contextOrFrameLookup = (context, frame, name) => {
    // Frames and the context are plain objects: `constructor` would otherwise be Object itself.
    if (BLOCKED.has(name) || name in Object.prototype) {
      throw new SandboxAccessError(`templates may not read "${name}"`);
    }
    return contextOrFrameLookup(context, frame, name);
  };
}

/**
 * Belt and braces: even a way around the lookups above finds no Function constructor. Called
 * once Nunjucks is loaded (it compiles with the global `Function`, which stays).
 */
function poisonConstructors(): void {
  const poisoned = function constructorBlocked(): never {
    throw new SandboxAccessError('templates may not create functions');
  };
  const kinds = [function () {}, async function () {}, function* () {}, async function* () {}];
  for (const fn of kinds) {
    Object.defineProperty(Object.getPrototypeOf(fn), 'constructor', {
      value: poisoned,
      writable: false,
      configurable: false,
    });
  }
}

export interface Engine {
  render(item: RenderItem, context: unknown): RenderResult;
}

export function createEngine(maxOutputChars: number): Engine {
  // No loaders: `{% include %}`, `{% import %}` and `{% extends %}` find nothing (the default
  // would read files under ./views).
  const env = new nunjucks.Environment([], { autoescape: false, throwOnUndefined: false, tags: TAGS });
  for (const [name, filter] of Object.entries(BACKSTAGE_FILTERS)) env.addFilter(name, filter);
  guardLookups();
  // Compiled templates, by source: a task's skeleton renders again on the next task (and a retry).
  // Bounded by their sources' size, so the cache never crowds renders out of the small heap.
  const cache = new Map<string, nunjucks.Template>();
  let cachedChars = 0;

  const compile = (src: string, where: string): nunjucks.Template => {
    const key = `${where}\u0000${src}`;
    let template = cache.get(key);
    if (!template) {
      template = new nunjucks.Template(src, env, where, true);
      if (cache.size >= 500 || cachedChars + key.length > 4 * 1024 * 1024) {
        cache.clear();
        cachedChars = 0;
      }
      cache.set(key, template);
      cachedChars += key.length;
    }
    return template;
  };

  const renderString = (src: string, context: object, where: string): string => {
    let template: nunjucks.Template;
    try {
      template = compile(src, where);
    } catch (err) {
      throw new Located(err, where, 'parse', src);
    }
    let out: string;
    try {
      out = template.render(context);
    } catch (err) {
      throw new Located(err, where, 'render', src);
    }
    if (out.length > maxOutputChars) throw new OutputTooLarge(where, out.length, maxOutputChars);
    return out;
  };

  /** Backstage: a string that is exactly one `${{ expr }}` is rendered through `| dump` and parsed back. */
  const renderTypedString = (src: string, context: object, where: string): unknown => {
    if (!src.includes('${{') && !src.includes('{%') && !src.includes('{#')) return src;
    const expr = singleExpression(src);
    if (expr !== null) {
      let dumped: string | null = null;
      try {
        dumped = renderString(`\${{ (${expr}) | dump }}`, context, where);
      } catch (err) {
        if (err instanceof OutputTooLarge) throw err;
        // As Backstage: fall back to rendering as text, which reports the template's own error.
      }
      if (dumped !== null) return dumped === '' ? undefined : (JSON.parse(dumped) as unknown);
    }
    const out = renderString(src, context, where);
    return out === '' ? undefined : out;
  };

  const renderDeep = (value: unknown, context: object, where: string): unknown => {
    if (typeof value === 'string') return renderTypedString(value, context, where);
    if (Array.isArray(value)) return value.map((v) => renderDeep(v, context, where));
    if (value !== null && typeof value === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(value)) {
        const rendered = renderDeep(v, context, where ? `${where}.${k}` : k);
        if (rendered !== undefined) out[k] = rendered;
      }
      return out;
    }
    return value;
  };

  return {
    render(item, context) {
      const ctx = (context ?? {}) as object;
      try {
        if (item.op === 'text') return { ok: true, value: renderString(item.text, ctx, item.where) };
        return { ok: true, value: renderDeep(item.value, ctx, item.where) };
      } catch (err) {
        return { ok: false, error: describeError(err, item.where) };
      }
    },
  };
}

export function lockDown(): void {
  poisonConstructors();
}

/** An error of Nunjucks with the place it happened and whether it was parsing or rendering. */
class Located extends Error {
  constructor(
    readonly original: unknown,
    readonly where: string,
    readonly phase: 'parse' | 'render',
    readonly src: string,
  ) {
    super(original instanceof Error ? original.message : String(original));
  }
}

class OutputTooLarge extends Error {
  constructor(
    readonly where: string,
    size: number,
    max: number,
  ) {
    super(`the output grew to ${size} characters, more than the ${max} allowed`);
  }
}

/** The expression of a string that is exactly one `${{ expr }}` (surrounding spaces allowed), or null. */
function singleExpression(src: string): string | null {
  const trimmed = src.trim();
  if (!trimmed.startsWith('${{') || !trimmed.endsWith('}}')) return null;
  try {
    const root = internals.parser.parse(src, [], { autoescape: false, tags: TAGS });
    const [only] = root.children;
    if (root.children.length !== 1 || !(only instanceof internals.nodes.Output)) return null;
    const [expr] = only.children ?? [];
    if ((only.children ?? []).length !== 1 || expr instanceof internals.nodes.TemplateData) return null;
  } catch {
    return null;
  }
  const inner = trimmed.slice(3, -2);
  // Whitespace control (`${{-`, `-}}`) has no meaning for a lone expression; drop it.
  return inner.replace(/^-/, '').replace(/-$/, '');
}

const POSITION = /\[Line (\d+), Column (\d+)\]/;

function describeError(err: unknown, fallbackWhere: string): RenderFailure {
  if (err instanceof OutputTooLarge) {
    return { message: err.message, where: err.where, line: null, column: null, limit: true };
  }
  const where = err instanceof Located ? err.where : fallbackWhere;
  const raw = err instanceof Error ? err.message : String(err);
  const pos = POSITION.exec(raw);
  let line = pos ? Number(pos[1]) : null;
  let column = pos ? Number(pos[2]) : null;
  if (err instanceof Located && err.phase === 'render' && line !== null && column !== null) {
    // Nunjucks counts from 0 at render time (and from 1 when parsing).
    line += 1;
    column += 1;
  }
  if (line === null && err instanceof Located && /end of file/.test(raw)) line = err.src.split('\n').length;
  // Nunjucks prefixes "Template render error:", "(path)", "[Line x, Column y]" and the cause's
  // class, once per template level; keep the cause.
  let message = raw;
  for (let prev = ''; prev !== message;) {
    prev = message;
    message = message
      .replace(/^\s*Template render error:\s*/, '')
      .replace(/^\([^)\n]*\)\s*/, '')
      .replace(/^\[Line \d+, Column \d+\]\s*/, '')
      .replace(/^(Error|TypeError|RangeError|SyntaxError|ReferenceError):\s*/, '');
  }
  message = message.trim();
  if (line === null && err instanceof Located) line = guessLine(err.src, message);
  return { message: message || raw, where, line, column };
}

/**
 * Nunjucks tracks no position for a failing filter: the line is the one naming the filter (a
 * message of ours starts with its name; Nunjucks says "filter not found: name"), or line 1 of a
 * one-line template.
 */
function guessLine(src: string, message: string): number | null {
  const lines = src.split('\n');
  if (lines.length === 1) return 1;
  const name = /^(\w+):/.exec(message)?.[1] ?? /filter not found: (\w+)/.exec(message)?.[1];
  if (!name) return null;
  const uses = new RegExp(`\\|\\s*${name}\\b`);
  const at = lines.findIndex((l) => uses.test(l));
  return at >= 0 ? at + 1 : null;
}
