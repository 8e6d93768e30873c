import type { z } from 'zod';
import { LineCounter, isMap, isNode, isScalar, isSeq, parseDocument, type Document } from 'yaml';
import { checkYamlSource, documentValue, SMALL_YAML_LIMITS, YamlError } from '../yaml/index.ts';
import { closestMatch } from './did-you-mean.ts';
import { DEPLOY_FIELD_DOCS, DeployFileSchema, DeploySpecSchema, type DeclaredDeploySpec } from './spec.ts';

export interface DeployProblem {
  file: string;
  /** 1-based. */
  line: number;
  /** 1-based. */
  column: number;
  /** Dotted path such as `deploy.canary[1].weight`; empty for the document as a whole. */
  field: string;
  message: string;
  /** What the field accepts, in words. */
  expected: string;
  hint?: string;
  /** For an unknown key or enum value: the known one it most likely meant. */
  didYouMean?: string;
}

export type ParseDeploySpecResult = { ok: true; spec: DeclaredDeploySpec } | { ok: false; problems: DeployProblem[] };

type Path = (string | number)[];

/**
 * Parses and validates a deploy.yaml, reporting every problem with its position rather than
 * throwing at the first: a developer fixing the file wants the whole list in one run.
 * A YAML syntax error stops before schema validation, because the structure around it is a guess
 * and would produce misleading follow-on problems.
 */
export function parseDeploySpec(text: string, file = '.idp/deploy.yaml'): ParseDeploySpecResult {
  // The file comes from a release archive: anyone who can push may have written it.
  try {
    checkYamlSource(text, SMALL_YAML_LIMITS);
  } catch (err) {
    if (err instanceof YamlError) return { ok: false, problems: [limitProblem(file, err)] };
    throw err;
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };

  if (doc.errors.length > 0) {
    const problems = doc.errors.map((error): DeployProblem => {
      const problem: DeployProblem = {
        file,
        ...at(error.pos[0]),
        field: formatPath(pathAtOffset(doc, error.pos[0])),
        message: yamlMessage(error.code, error.message),
        expected: 'valid YAML',
      };
      const hint = yamlHint(error.code, error.message);
      if (hint) problem.hint = hint;
      return problem;
    });
    return { ok: false, problems: sortProblems(problems) };
  }

  let data: unknown;
  try {
    data = documentValue(doc, SMALL_YAML_LIMITS, lineCounter);
  } catch (err) {
    if (err instanceof YamlError) return { ok: false, problems: [limitProblem(file, err)] };
    throw err;
  }
  const result = DeploySpecSchema.safeParse(data);
  if (result.success) return { ok: true, spec: result.data };

  const problems: DeployProblem[] = [];
  const seen = new Set<string>();
  for (const issue of result.error.issues) {
    for (const problem of issueToProblems(issue, { file, doc, data, at })) {
      const key = `${problem.field}\0${problem.message}`;
      if (seen.has(key)) continue;
      seen.add(key);
      problems.push(problem);
    }
  }
  return { ok: false, problems: sortProblems(problems) };
}

function limitProblem(file: string, err: YamlError): DeployProblem {
  return {
    file,
    line: err.line ?? 1,
    column: err.column ?? 1,
    field: '',
    message: err.reason,
    expected: 'a deploy.yaml within the YAML parsing limits',
    hint: `Keep the file under ${SMALL_YAML_LIMITS.maxBytes / 1024} KiB and write values out instead of repeating them through anchors and aliases.`,
  };
}

/**
 * One line per problem, in the `file:line:column` form editors and CI annotators recognise,
 * with the hint on an indented line below it.
 */
export function formatProblems(problems: readonly DeployProblem[]): string {
  const lines: string[] = [];
  for (const p of problems) {
    let line = `${p.file}:${p.line}:${p.column}  ${p.field ? `${p.field}: ` : ''}${p.message} (expected ${p.expected})`;
    if (p.didYouMean !== undefined) line += ` did you mean "${p.didYouMean}"?`;
    lines.push(line);
    if (p.hint) lines.push(`    Try this: ${p.hint}`);
  }
  return lines.join('\n');
}

interface IssueContext {
  file: string;
  doc: Document;
  data: unknown;
  at: (offset: number) => { line: number; column: number };
}

interface IssueParams {
  /** Point at this path instead of the issue's own (e.g. `strategy` for a missing `canary`). */
  at?: Path;
  /** Point at the key rather than its value (a key that must not be there). */
  on?: 'key';
  hint?: string;
  /** Prefix the message with the offending value. */
  withValue?: boolean;
}

function issueToProblems(issue: z.core.$ZodIssue, ctx: IssueContext): DeployProblem[] {
  const path = issue.path.filter((s): s is string | number => typeof s !== 'symbol');
  const params: IssueParams = (issue.code === 'custom' ? (issue.params as IssueParams | undefined) : undefined) ?? {};
  const make = (
    fieldPath: Path,
    message: string,
    position: { offset: number },
    extra: { expected?: string; hint?: string | undefined; didYouMean?: string | undefined } = {},
  ): DeployProblem => {
    const doc = DEPLOY_FIELD_DOCS[fieldPattern(fieldPath)];
    const problem: DeployProblem = {
      file: ctx.file,
      ...ctx.at(position.offset),
      field: formatPath(fieldPath),
      message,
      expected: extra.expected ?? doc?.expected ?? 'a valid value',
    };
    const hint = extra.hint ?? doc?.hint;
    if (hint) problem.hint = hint;
    if (extra.didYouMean !== undefined) problem.didYouMean = extra.didYouMean;
    return problem;
  };

  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(path);
    return issue.keys.map((key) => {
      let didYouMean = closestMatch(key, known);
      let hint: string | undefined;
      if (didYouMean === undefined) {
        // Often the key is right (or nearly) but at the wrong level: `healthcheck` at the top.
        const home = elsewhere(key, path);
        if (home) {
          if (home.key !== key) didYouMean = home.key;
          hint = `"${home.key}" belongs under ${home.parent === '' ? 'the top level' : home.parent}; move it there.`;
        } else {
          hint = `Known keys here: ${known.join(', ')}.`;
        }
      }
      return make([...path, key], `unknown key "${key}"`, locate(ctx.doc, [...path, key], 'key'), {
        expected: known.length > 0 ? `one of ${known.join(', ')}` : 'no keys here',
        hint,
        didYouMean,
      });
    });
  }

  const raw = valueAt(ctx.data, path);
  const pattern = fieldPattern(path);
  const position = params.at ? locate(ctx.doc, params.at, 'value') : locate(ctx.doc, path, params.on ?? 'value');
  const isRoot = path.length === 0;

  switch (issue.code) {
    case 'invalid_type': {
      const message =
        raw === undefined
          ? 'is required'
          : raw === null
            ? isRoot
              ? 'the file is empty'
              : 'is empty'
            : isRoot
              ? `the file holds ${describe(raw)}`
              : `got ${describe(raw)}`;
      return [make(path, message, position, { hint: typeHint(issue.expected, raw, pattern) })];
    }
    case 'invalid_value': {
      const values = issue.values.map(String);
      const didYouMean = typeof raw === 'string' ? closestMatch(raw, values) : undefined;
      return [make(path, `${show(raw)} is not one of ${values.join(', ')}`, position, { didYouMean })];
    }
    case 'too_small':
    case 'too_big':
    case 'invalid_format':
      return [
        make(path, isPrimitive(raw) ? `${show(raw)} ${issue.message}` : issue.message, position, {
          hint: formatHint(pattern, raw),
        }),
      ];
    case 'custom':
      return [
        make(path, params.withValue ? `${show(raw)} ${issue.message}` : issue.message, position, {
          hint: params.hint,
        }),
      ];
    default:
      return [make(path, issue.message, position)];
  }
}

/**
 * Offset of the node at `path`. A missing node is reported at its nearest existing ancestor:
 * the ancestor's key when it is a mapping value, the item itself when it is a list item.
 */
function locate(doc: Document, path: Path, prefer: 'key' | 'value'): { offset: number } {
  let node: unknown = doc.contents;
  let keyNode: unknown = undefined;
  const start = (n: unknown): number | undefined => (isNode(n) && n.range ? n.range[0] : undefined);
  const fallback = () => ({ offset: start(keyNode) ?? start(node) ?? 0 });

  for (const segment of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
      if (!pair) return fallback();
      keyNode = pair.key;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) return fallback();
      keyNode = undefined;
      node = item;
    } else {
      return fallback();
    }
  }
  const value = start(node);
  const key = start(keyNode);
  if (prefer === 'key') return { offset: key ?? value ?? 0 };
  // `replicas:` with nothing after it has no value range worth pointing at; the key is clearer.
  if (value === undefined || (isScalar(node) && node.value === null)) return { offset: key ?? value ?? 0 };
  return { offset: value };
}

/** The deepest field whose key or value spans `offset`, to name the field of a YAML error. */
function pathAtOffset(doc: Document, offset: number): Path {
  const within = (n: unknown): boolean =>
    isNode(n) && !!n.range && offset >= n.range[0] && offset < Math.max(n.range[2], n.range[0] + 1);
  const path: Path = [];
  let node: unknown = doc.contents;
  for (;;) {
    if (isMap(node)) {
      const pair = node.items.find((p) => within(p.key) || within(p.value));
      if (!pair || !isScalar(pair.key)) return path;
      path.push(String(pair.key.value));
      if (within(pair.key)) return path;
      node = pair.value;
    } else if (isSeq(node)) {
      const index = node.items.findIndex((item) => within(item));
      if (index < 0) return path;
      path.push(index);
      node = node.items[index];
    } else {
      return path;
    }
  }
}

// Unwraps zod wrappers down to the object or list at `path`, so "did you mean" always offers the
// keys the schema really has (one source of truth, nothing to keep in sync).
interface SchemaDef {
  type: string;
  shape?: Record<string, { _zod: { def: SchemaDef } }>;
  innerType?: { _zod: { def: SchemaDef } };
  in?: { _zod: { def: SchemaDef } };
  element?: { _zod: { def: SchemaDef } };
}

function unwrap(def: SchemaDef): SchemaDef {
  let current = def;
  for (;;) {
    if (current.innerType) current = current.innerType._zod.def;
    else if (current.type === 'pipe' && current.in) current = current.in._zod.def;
    else return current;
  }
}

function schemaAt(path: Path): SchemaDef | undefined {
  let def: SchemaDef | undefined = unwrap((DeployFileSchema as unknown as { _zod: { def: SchemaDef } })._zod.def);
  for (const segment of path) {
    if (!def) return undefined;
    if (def.type === 'object' && typeof segment === 'string') {
      const child: { _zod: { def: SchemaDef } } | undefined = def.shape?.[segment];
      def = child ? unwrap(child._zod.def) : undefined;
    } else if (def.type === 'array' && typeof segment === 'number') {
      def = def.element ? unwrap(def.element._zod.def) : undefined;
    } else {
      return undefined;
    }
  }
  return def;
}

function knownKeysAt(path: Path): string[] {
  const def = schemaAt(path);
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

/**
 * The one key elsewhere in the schema that `key` names or nearly names, with its parent path;
 * undefined when there is none or more than one, as a guess between places would mislead.
 */
function elsewhere(key: string, here: Path): { key: string; parent: string } | undefined {
  const found: { key: string; parent: string }[] = [];
  const visit = (def: SchemaDef, path: Path) => {
    if (def.type === 'object' && def.shape) {
      const names = Object.keys(def.shape);
      const match = fieldPattern(path) === fieldPattern(here) ? undefined : closestMatch(key, names);
      if (match !== undefined) found.push({ key: match, parent: fieldPattern(path) });
      for (const [name, child] of Object.entries(def.shape)) visit(unwrap(child._zod.def), [...path, name]);
    } else if (def.type === 'array' && def.element) {
      visit(unwrap(def.element._zod.def), [...path, 0]);
    }
  };
  const root = schemaAt([]);
  if (root) visit(root, []);
  return found.length === 1 ? found[0] : undefined;
}

function valueAt(data: unknown, path: Path): unknown {
  let current = data;
  for (const segment of path) {
    if (typeof current !== 'object' || current === null) return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}

function formatPath(path: Path): string {
  let out = '';
  for (const segment of path) {
    out += typeof segment === 'number' ? `[${segment}]` : out === '' ? segment : `.${segment}`;
  }
  return out;
}

function fieldPattern(path: Path): string {
  return formatPath(path).replace(/\[\d+\]/g, '[]');
}

function isPrimitive(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (isPrimitive(value)) return String(value);
  return describe(value);
}

function describe(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object' && value !== null) return 'a mapping';
  if (typeof value === 'string') return `the text ${show(value)}`;
  if (typeof value === 'number') return `the number ${value}`;
  return String(value);
}

function typeHint(expected: string, raw: unknown, pattern: string): string | undefined {
  if (raw === null) return pattern === '' ? undefined : 'Give it a value, or remove the key.';
  if ((expected === 'number' || expected === 'int') && typeof raw === 'string') {
    if (/^\s*\d+\s*%\s*$/.test(raw)) return `Write the number without %: ${raw.replace(/[%\s]/g, '')}.`;
    if (/^\s*\d+\s*$/.test(raw)) return `Remove the quotes: ${raw.trim()}.`;
  }
  if (expected === 'boolean' && typeof raw === 'string') {
    return 'YAML 1.2 reads yes, no, on and off as text; write true or false.';
  }
  if (expected === 'string' && typeof raw === 'number') {
    if (/\.(pause|interval)$/.test(pattern)) return `Add a unit, e.g. ${raw}s.`;
    if (pattern.endsWith('.on_error_rate'))
      return `Write a quoted percentage, e.g. on_error_rate: ">${raw < 1 ? raw * 100 : raw}%".`;
  }
  return undefined;
}

function formatHint(pattern: string, raw: unknown): string | undefined {
  if (pattern.endsWith('.on_error_rate') && typeof raw === 'string' && /^\s*[0-9.]+\s*%?\s*$/.test(raw)) {
    return `Write it as ">${raw.trim().replace(/%$/, '')}%", in quotes.`;
  }
  if (/\.(pause|interval)$/.test(pattern)) {
    return 'Use one number and one unit (s, m, h or d): 30s, 5m, 2h, 7d; 90m for an hour and a half.';
  }
  return undefined;
}

function yamlMessage(code: string, message: string): string {
  return code === 'DUPLICATE_KEY' ? 'this key appears twice in the same mapping' : `YAML syntax: ${message}`;
}

function yamlHint(code: string, message: string): string | undefined {
  if (/block scalar/i.test(message)) return 'Quote values that start with > or |, e.g. on_error_rate: ">1%".';
  if (/tab/i.test(message)) return 'Indent with spaces, not tabs.';
  if (code === 'DUPLICATE_KEY') return 'Keep one of them.';
  if (code === 'BAD_INDENT' || /indent/i.test(message))
    return 'Line up keys of the same mapping in the same column, using spaces.';
  return undefined;
}

function sortProblems(problems: DeployProblem[]): DeployProblem[] {
  return problems
    .map((problem, index) => ({ problem, index }))
    .sort((a, b) => a.problem.line - b.problem.line || a.problem.column - b.problem.column || a.index - b.index)
    .map(({ problem }) => problem);
}
