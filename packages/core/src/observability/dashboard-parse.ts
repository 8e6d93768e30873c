import type { z } from 'zod';
import { LineCounter, parseDocument, type Document } from 'yaml';
import { DashboardSpec } from '@idp/contracts';
import { closestMatch } from '../deploy/did-you-mean.ts';
import type { DeployProblem } from '../deploy/parse.ts';
import { describeValue, limitProblem, showValue, sortByPosition, valueAt } from '../yaml/problem-text.ts';
import { checkYamlSource, documentValue, SMALL_YAML_LIMITS, YamlError } from '../yaml/index.ts';
import { formatSchemaPath, knownKeysAt, locateInDocument, pathAtOffset } from '../yaml/schema-path.ts';
import { scopeQuery, type ScopeLimits } from './promql-scope.ts';
import { PLACEHOLDER_VALUES, substituteVariables, unknownVariables, usedVariables } from './dashboard-variables.ts';

/** A problem of a dashboard file, with its position: the same shape (and formatter) as deploy.yaml's. */
export type DashboardProblem = DeployProblem;

export type ParseDashboardResult = { ok: true; spec: DashboardSpec } | { ok: false; problems: DashboardProblem[] };

export interface ParseDashboardOptions {
  /** Shown in problems, e.g. `.idp/dashboards/latency.yaml`. */
  file: string;
  /** The query gate's limits (observability.query.maxQueryBytes): a panel the gate would refuse is refused here. */
  limits: ScopeLimits;
  /** A repository's dashboard: its service, whatever the file says; its name must start with `<service>-`. */
  service?: string;
  /** A repository's dashboard: its owner team, whatever the file says. */
  team?: string;
}

const EXPECTED: Record<string, string> = {
  name: 'a DNS-1123 label such as payments-api-latency',
  title: 'text of 1 to 120 characters',
  description: 'text of at most 1000 characters',
  team: 'a Group name such as payments',
  service: 'a service name',
  panels: 'a list of 1 to 24 panels (title, query, unit, legend)',
  'panels[].title': 'text of 1 to 120 characters',
  'panels[].query': 'a PromQL query; may use $env, $service and $team',
  'panels[].unit': 'one of req/s, ratio, percent, seconds, bytes, count, cores, none',
  'panels[].legend': 'a series name such as {{service}} {{code}}',
};

/**
 * Parses and validates one dashboard YAML file, reporting every problem with its position (like
 * deploy.yaml's parser): schema problems with "did you mean", and each panel's query parsed as
 * PromQL with its variables replaced by placeholders, so a dashboard that could not run is
 * refused when it is loaded rather than when someone opens it.
 */
export function parseDashboardYaml(text: string, opts: ParseDashboardOptions): ParseDashboardResult {
  const { file } = opts;
  try {
    checkYamlSource(text, SMALL_YAML_LIMITS);
  } catch (err) {
    if (err instanceof YamlError)
      return { ok: false, problems: [limitProblem(file, err, 'a dashboard file within the YAML parsing limits')] };
    throw err;
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, version: '1.2' });
  const at = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return { line, column: col };
  };
  if (doc.errors.length > 0) {
    return {
      ok: false,
      problems: sortByPosition(
        doc.errors.map((error) => ({
          file,
          ...at(error.pos[0]),
          field: formatSchemaPath(pathAtOffset(doc, error.pos[0])),
          message:
            error.code === 'DUPLICATE_KEY'
              ? 'this key appears twice in the same mapping'
              : `YAML syntax: ${error.message}`,
          expected: 'valid YAML',
        })),
      ),
    };
  }
  let data: unknown;
  try {
    data = documentValue(doc, SMALL_YAML_LIMITS, lineCounter);
  } catch (err) {
    if (err instanceof YamlError)
      return { ok: false, problems: [limitProblem(file, err, 'a dashboard file within the YAML parsing limits')] };
    throw err;
  }
  const result = DashboardSpec.safeParse(data);
  if (!result.success) {
    const problems = result.error.issues.flatMap((issue) => issueProblems(issue, { file, doc, data, at }));
    return { ok: false, problems: sortByPosition(problems) };
  }
  const spec: DashboardSpec = { ...result.data };
  if (opts.service !== undefined) spec.service = opts.service;
  if (opts.team !== undefined) spec.team = opts.team;
  const problems: DashboardProblem[] = [];
  if (opts.service !== undefined && !spec.name.startsWith(`${opts.service}-`)) {
    problems.push({
      file,
      ...at(locateInDocument(doc, ['name'], 'value').offset),
      field: 'name',
      message: `${JSON.stringify(spec.name)} does not start with "${opts.service}-"`,
      expected: `a name starting with ${opts.service}-, e.g. ${opts.service}-overview`,
      hint: `A service's repository names only its own dashboards: rename it to ${opts.service}-${spec.name}.`,
    });
  }
  for (const p of dashboardQueryProblems(spec, opts.limits)) {
    const start = locateInDocument(doc, ['panels', p.panel, 'query'], 'value').offset;
    const node = doc.getIn(['panels', p.panel, 'query'], true) as { type?: string } | undefined;
    // Within a plain one-line scalar the offset in the query is the offset in the file.
    const inline = node?.type === 'PLAIN' && !spec.panels[p.panel]!.query.includes('\n');
    problems.push({
      file,
      ...at(start + (inline && p.offset !== undefined ? p.offset : 0)),
      field: `panels[${p.panel}].query`,
      message: p.message,
      expected: EXPECTED['panels[].query']!,
      ...(p.hint ? { hint: p.hint } : {}),
      ...(p.didYouMean ? { didYouMean: p.didYouMean } : {}),
    });
  }
  return problems.length > 0 ? { ok: false, problems: sortByPosition(problems) } : { ok: true, spec };
}

export interface DashboardQueryProblem {
  panel: number;
  message: string;
  /** Where in the query (characters), when known. */
  offset?: number;
  hint?: string;
  didYouMean?: string;
}

/**
 * What is wrong with the dashboard's queries: unknown `$names`, $service or $team where the
 * dashboard has none, and queries that do not parse (or are over the gate's size limit) with
 * placeholder values. Empty: every panel can run.
 */
export function dashboardQueryProblems(spec: DashboardSpec, limits: ScopeLimits): DashboardQueryProblem[] {
  const problems: DashboardQueryProblem[] = [];
  spec.panels.forEach((panel, index) => {
    const unknown = unknownVariables(panel.query);
    for (const u of unknown) {
      problems.push({
        panel: index,
        message: `unknown variable $${u.name}`,
        offset: u.offset,
        hint: 'The variables are $env, $service and $team.',
        ...(u.didYouMean ? { didYouMean: u.didYouMean } : {}),
      });
    }
    const used = usedVariables(panel.query);
    const missing = [
      ...(used.has('service') && !spec.service ? ['service'] : []),
      ...(used.has('team') && !spec.team ? ['team'] : []),
    ];
    for (const name of missing) {
      problems.push({
        panel: index,
        message: `uses $${name} but the dashboard has no ${name}`,
        offset: panel.query.indexOf(`$${name}`),
        hint: `Set ${name}: on the dashboard, or write the ${name} into the query.`,
      });
    }
    if (unknown.length > 0 || missing.length > 0) return;
    const query = substituteVariables(panel.query, {
      ...PLACEHOLDER_VALUES,
      ...(spec.service ? { service: spec.service } : {}),
      ...(spec.team ? { team: spec.team } : {}),
    });
    const parsed = scopeQuery(query, { all: true }, limits);
    if (!parsed.ok) {
      problems.push({
        panel: index,
        message: parsed.error.message,
        ...(parsed.error.code === 'OBSERVABILITY_QUERY_INVALID'
          ? { hint: 'Try the query in `idp metrics` (or Prometheus) with the variables filled in.' }
          : {}),
      });
    }
  });
  return problems;
}

type Path = (string | number)[];

interface IssueContext {
  file: string;
  doc: Document;
  data: unknown;
  at: (offset: number) => { line: number; column: number };
}

function issueProblems(issue: z.core.$ZodIssue, ctx: IssueContext): DashboardProblem[] {
  const path = issue.path.filter((s): s is string | number => typeof s !== 'symbol');
  const pattern = formatSchemaPath(path).replace(/\[\d+\]/g, '[]');
  const make = (fieldPath: Path, message: string, offset: number, extra: Partial<DashboardProblem> = {}) => {
    const problem: DashboardProblem = {
      file: ctx.file,
      ...ctx.at(offset),
      field: formatSchemaPath(fieldPath),
      message,
      expected: EXPECTED[formatSchemaPath(fieldPath).replace(/\[\d+\]/g, '[]')] ?? 'a valid value',
      ...extra,
    };
    return problem;
  };
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(DashboardSpec, path);
    return issue.keys.map((key) => {
      const didYouMean = closestMatch(key, known);
      return make([...path, key], `unknown key "${key}"`, locateInDocument(ctx.doc, [...path, key], 'key').offset, {
        expected: `one of ${known.join(', ')}`,
        ...(didYouMean !== undefined ? { didYouMean } : { hint: `Known keys here: ${known.join(', ')}.` }),
      });
    });
  }
  const raw = valueAt(ctx.data, path);
  const offset = locateInDocument(ctx.doc, path, 'value').offset;
  if (issue.code === 'invalid_type') {
    const message =
      raw === undefined
        ? 'is required'
        : path.length === 0
          ? 'the file must hold a mapping (name, panels, …)'
          : `got ${describeValue(raw)}`;
    return [make(path, message, offset)];
  }
  if (issue.code === 'invalid_value') {
    const values = issue.values.map(String);
    const didYouMean = typeof raw === 'string' ? closestMatch(raw, values) : undefined;
    return [
      make(path, `${showValue(raw)} is not one of ${values.join(', ')}`, offset, didYouMean ? { didYouMean } : {}),
    ];
  }
  const prefix = typeof raw === 'string' || typeof raw === 'number' ? `${showValue(raw)} ` : '';
  return [make(path, `${prefix}${issue.message}`, offset, pattern === 'name' ? { hint: nameHint(raw) } : {})];
}

function nameHint(raw: unknown): string {
  const suggestion =
    typeof raw === 'string'
      ? raw
          .toLowerCase()
          .replace(/[^a-z0-9-]+/g, '-')
          .replace(/^-+|-+$/g, '')
      : '';
  return suggestion ? `Lower-case letters, digits and -, e.g. ${suggestion.slice(0, 63)}.` : 'e.g. payments-overview.';
}
