export {
  scopeQuery,
  scopeSeriesSelector,
  scopedMatchAll,
  scopeMatcherTexts,
  unscopedSelectors,
  promqlString,
  regexEscape,
} from './promql-scope.ts';
export type { Scope, ScopeLimits, ScopeResult } from './promql-scope.ts';
