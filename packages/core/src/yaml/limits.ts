/**
 * Limits for parsing YAML (and JSON, which is YAML) that someone other than the platform admin
 * wrote: catalog documents fetched from URLs and git, deploy.yaml from release archives. A 1 KB
 * alias bomb expands to gigabytes once something walks it (JSON.stringify, validation), so the
 * expanded size is bounded, not only the bytes read.
 */
export interface YamlLimits {
  /** Bytes of source text. */
  maxBytes: number;
  /** YAML documents (`---`) in one file. */
  maxDocuments: number;
  /** Nesting of mappings and lists, counted through aliases. */
  maxDepth: number;
  /** Alias uses (`*name`) in one document. */
  maxAliases: number;
  /** Values (mappings, lists, keys, scalars) of one file with every alias expanded. */
  maxNodes: number;
  /** Characters of all strings of one file with every alias expanded. */
  maxChars: number;
}

/** Catalog files: a 10,000-entity catalog in one file is about 3 MB and 300,000 values. */
export const CATALOG_YAML_LIMITS: Readonly<YamlLimits> = Object.freeze({
  maxBytes: 10 * 1024 * 1024,
  maxDocuments: 20_000,
  maxDepth: 64,
  maxAliases: 1_000,
  maxNodes: 2_000_000,
  maxChars: 20 * 1024 * 1024,
});

/** One small file such as .idp/deploy.yaml (a real one is a few hundred bytes). */
export const SMALL_YAML_LIMITS: Readonly<YamlLimits> = Object.freeze({
  maxBytes: 64 * 1024,
  maxDocuments: 1,
  maxDepth: 64,
  maxAliases: 100,
  maxNodes: 100_000,
  maxChars: 1024 * 1024,
});

/** What the limit is called in messages: the name a reader can look up in the README. */
const LIMIT_NAMES: Record<keyof YamlLimits, string> = {
  maxBytes: 'size limit',
  maxDocuments: 'document count limit',
  maxDepth: 'nesting depth limit',
  maxAliases: 'alias count limit',
  maxNodes: 'expanded size limit',
  maxChars: 'expanded size limit',
};

/**
 * A YAML file that could not be read: a syntax error (limit unset; `reason` is the parser's), or
 * a parsing limit (`reason` names it).
 */
export class YamlError extends Error {
  constructor(
    readonly reason: string,
    readonly line: number | null = null,
    readonly column: number | null = null,
    readonly limit?: keyof YamlLimits,
  ) {
    super(
      `${limit ? '' : 'YAML syntax error: '}${reason}${line ? ` (line ${line}${column ? `, column ${column}` : ''})` : ''}`,
    );
    this.name = 'YamlError';
  }
}

export function limitError(
  limit: keyof YamlLimits,
  max: number,
  what: string,
  line: number | null = null,
  column: number | null = null,
): YamlError {
  return new YamlError(`${what}: over the YAML ${LIMIT_NAMES[limit]} (${limit} ${max})`, line, column, limit);
}

/** Checked before parsing: the byte size, and `---` markers as a cheap upper bound on documents. */
export function checkYamlSource(text: string, limits: YamlLimits): void {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > limits.maxBytes) throw limitError('maxBytes', limits.maxBytes, `the file has ${bytes} bytes`);
  let markers = 0;
  for (let i = text.indexOf('---'); i >= 0; i = text.indexOf('---', i + 3)) {
    if ((i === 0 || text[i - 1] === '\n') && ++markers > limits.maxDocuments + 1) {
      throw limitError('maxDocuments', limits.maxDocuments, 'the file has too many YAML documents');
    }
  }
}

/**
 * Walks parsed values as the tree they stand for (an alias is shared by reference in memory, but
 * JSON.stringify and validators walk it once per use) and stops as soon as a limit is passed, so
 * the walk itself costs at most maxNodes steps. Iterative: a deep value cannot overflow the stack.
 */
export function checkExpandedSize(values: readonly unknown[], limits: YamlLimits): void {
  let nodes = 0;
  let chars = 0;
  const stack: [unknown, number][] = values.map((v) => [v, 0]);
  while (stack.length) {
    const [value, depth] = stack.pop()!;
    if (++nodes > limits.maxNodes)
      throw limitError('maxNodes', limits.maxNodes, 'aliases expand the file to too many values');
    if (typeof value === 'string') {
      chars += value.length;
      if (chars > limits.maxChars)
        throw limitError('maxChars', limits.maxChars, 'aliases expand the file to too much text');
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth >= limits.maxDepth) throw limitError('maxDepth', limits.maxDepth, 'mappings and lists nest too deeply');
    if (Array.isArray(value)) {
      for (const item of value) stack.push([item, depth + 1]);
    } else if (Object.getPrototypeOf(value) === Object.prototype || Object.getPrototypeOf(value) === null) {
      for (const [key, item] of Object.entries(value)) {
        stack.push([key, depth + 1], [item, depth + 1]);
      }
    }
  }
}
