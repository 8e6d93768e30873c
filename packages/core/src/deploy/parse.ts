import type { z } from 'zod';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { describeValue, limitProblem, showValue, sortByPosition, valueAt } from '../yaml/problem-text.ts';
import { checkYamlSource, documentValue, SMALL_YAML_LIMITS, YamlError } from '../yaml/index.ts';
import { formatSchemaPath, knownKeysAt, locateInDocument, pathAtOffset, schemaObjects } from '../yaml/schema-path.ts';
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
    if (err instanceof YamlError)
      return { ok: false, problems: [limitProblem(file, err, 'a deploy.yaml within the YAML parsing limits')] };
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
        field: formatSchemaPath(pathAtOffset(doc, error.pos[0])),
        message: yamlMessage(error.code, error.message),
        expected: 'valid YAML',
      };
      const hint = yamlHint(error.code, error.message);
      if (hint) problem.hint = hint;
      return problem;
    });
    return { ok: false, problems: sortByPosition(problems) };
  }

  let data: unknown;
  try {
    data = documentValue(doc, SMALL_YAML_LIMITS, lineCounter);
  } catch (err) {
    if (err instanceof YamlError)
      return { ok: false, problems: [limitProblem(file, err, 'a deploy.yaml within the YAML parsing limits')] };
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
  return { ok: false, problems: sortByPosition(problems) };
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
      field: formatSchemaPath(fieldPath),
      message,
      expected: extra.expected ?? doc?.expected ?? 'a valid value',
    };
    const hint = extra.hint ?? doc?.hint;
    if (hint) problem.hint = hint;
    if (extra.didYouMean !== undefined) problem.didYouMean = extra.didYouMean;
    return problem;
  };

  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(DeployFileSchema, path);
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
      return make([...path, key], `unknown key "${key}"`, locateInDocument(ctx.doc, [...path, key], 'key'), {
        expected: known.length > 0 ? `one of ${known.join(', ')}` : 'no keys here',
        hint,
        didYouMean,
      });
    });
  }

  const raw = valueAt(ctx.data, path);
  const pattern = fieldPattern(path);
  const position = params.at
    ? locateInDocument(ctx.doc, params.at, 'value')
    : locateInDocument(ctx.doc, path, params.on ?? 'value');
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
              ? `the file holds ${describeValue(raw)}`
              : `got ${describeValue(raw)}`;
      return [make(path, message, position, { hint: typeHint(issue.expected, raw, pattern) })];
    }
    case 'invalid_value': {
      const values = issue.values.map(String);
      const didYouMean = typeof raw === 'string' ? closestMatch(raw, values) : undefined;
      return [make(path, `${showValue(raw)} is not one of ${values.join(', ')}`, position, { didYouMean })];
    }
    case 'too_small':
    case 'too_big':
    case 'invalid_format':
      return [
        make(path, isPrimitive(raw) ? `${showValue(raw)} ${issue.message}` : issue.message, position, {
          hint: formatHint(pattern, raw),
        }),
      ];
    case 'custom':
      return [
        make(path, params.withValue ? `${showValue(raw)} ${issue.message}` : issue.message, position, {
          hint: params.hint,
        }),
      ];
    default:
      return [make(path, issue.message, position)];
  }
}

/**
 * The one key elsewhere in the schema that `key` names or nearly names, with its parent path;
 * undefined when there is none or more than one, as a guess between places would mislead.
 */
function elsewhere(key: string, here: Path): { key: string; parent: string } | undefined {
  const found: { key: string; parent: string }[] = [];
  for (const { path, keys } of schemaObjects(DeployFileSchema)) {
    const match = fieldPattern(path) === fieldPattern(here) ? undefined : closestMatch(key, keys);
    if (match !== undefined) found.push({ key: match, parent: fieldPattern(path) });
  }
  return found.length === 1 ? found[0] : undefined;
}

function fieldPattern(path: Path): string {
  return formatSchemaPath(path).replace(/\[\d+\]/g, '[]');
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

function isPrimitive(value: unknown): boolean {
  return value === null || ['string', 'number', 'boolean'].includes(typeof value);
}
