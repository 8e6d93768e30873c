import { visit, type Document, type LineCounter } from 'yaml';
import { checkExpandedSize, limitError, type YamlLimits } from './limits.ts';

/**
 * The value of a document parsed with the `yaml` package (which keeps positions, for files whose
 * problems are reported by line and column), within `limits`; throws YamlError. Check the source
 * with checkYamlSource before parsing.
 */
export function documentValue(doc: Document, limits: YamlLimits, lineCounter?: LineCounter): unknown {
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
  // Aliases resolve to shared objects here, so toJS itself stays small; the walk bounds the rest.
  const value: unknown = doc.toJS({ maxAliasCount: -1 });
  checkExpandedSize([value], limits);
  return value;
}
