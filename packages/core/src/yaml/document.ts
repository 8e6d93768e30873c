import { visit, type Document, type DocumentOptions, type LineCounter, type ParseOptions } from 'yaml';
import { checkExpandedSize, limitError, type YamlLimits } from './limits.ts';

/**
 * How the platform reads YAML: YAML 1.2's core schema, the one Backstage reads catalog files
 * with (this same package): `yes`, `no`, `on`, `off` and dates stay strings, `<<` is an ordinary
 * key (no merge), duplicate keys are errors. Positions are kept for messages; the parser's
 * snippet of the file is not (it could quote a secret).
 */
export const YAML_OPTIONS: ParseOptions & DocumentOptions = Object.freeze({
  version: '1.2',
  merge: false,
  uniqueKeys: true,
  prettyErrors: false,
});

/**
 * The value of one parsed document within the alias limit of `limits` (throws YamlError naming
 * the alias's position), with aliases resolved to shared objects so building it stays small.
 * The expanded size is for the caller to check, over every document of the file.
 */
export function boundedValue(doc: Document, limits: YamlLimits, lineCounter?: LineCounter): unknown {
  let aliases = 0;
  let over: { line: number | null; column: number | null } | undefined;
  visit(doc, {
    Alias(_key, node) {
      if (++aliases <= limits.maxAliases) return undefined;
      const pos = node.range && lineCounter ? lineCounter.linePos(node.range[0]) : undefined;
      over = { line: pos?.line ?? null, column: pos?.col ?? null };
      return visit.BREAK;
    },
  });
  if (over)
    throw limitError('maxAliases', limits.maxAliases, 'the document uses too many aliases', over.line, over.column);
  return doc.toJS({ maxAliasCount: -1 });
}

/**
 * The value of a document parsed with the `yaml` package (which keeps positions, for files whose
 * problems are reported by line and column), within `limits`; throws YamlError. Check the source
 * with checkYamlSource before parsing.
 */
export function documentValue(doc: Document, limits: YamlLimits, lineCounter?: LineCounter): unknown {
  const value = boundedValue(doc, limits, lineCounter);
  checkExpandedSize([value], limits);
  return value;
}
