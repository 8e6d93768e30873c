export {
  scopeQuery,
  scopeSeriesSelector,
  parseQuery,
  parseSeriesSelector,
  scopeParsed,
  scopedMatchAll,
  scopeMatcherTexts,
  unscopedSelectors,
  promqlString,
  regexEscape,
} from './promql-scope.ts';
export type { ParsedPromql, ParseResult, Scope, ScopeLimits, ScopeResult } from './promql-scope.ts';
export { goldenDashboard } from './dashboard-golden.ts';
export { dashboardQueryProblems, parseDashboardYaml } from './dashboard-parse.ts';
export type {
  DashboardProblem,
  DashboardQueryProblem,
  ParseDashboardOptions,
  ParseDashboardResult,
} from './dashboard-parse.ts';
export {
  DASHBOARD_VALUE,
  PLACEHOLDER_VALUES,
  isDashboardValue,
  substituteVariables,
  unknownVariables,
  usedVariables,
} from './dashboard-variables.ts';
export type { DashboardValues, DashboardVariable } from './dashboard-variables.ts';
