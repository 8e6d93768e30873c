import { DASHBOARD_VARIABLES } from '@idp/contracts';
import { closestMatch } from '../deploy/did-you-mean.ts';

/**
 * A dashboard panel's variables ($env, $service, $team) are replaced in the query text before it
 * is parsed. A value is a DNS-safe name (letters, digits, `-`, `.`, `_`): it can hold no quote,
 * brace, backslash or space, so whatever the caller sends as `env` cannot change the query's
 * structure, only the name inside the `"…"` the dashboard put around the variable.
 */
export const DASHBOARD_VALUE = /^[A-Za-z0-9]([-A-Za-z0-9._]{0,198}[A-Za-z0-9])?$/;

export type DashboardVariable = 'env' | 'service' | 'team';
/** A dashboard without a service (or team) has no $service (or $team); load-time checks refuse a query using it. */
export type DashboardValues = Readonly<Partial<Record<DashboardVariable, string>>>;

/** Stand-ins a query is parsed with when a dashboard is loaded (its real values come per request). */
export const PLACEHOLDER_VALUES: Readonly<Record<DashboardVariable, string>> = Object.freeze({
  env: 'placeholder-env',
  service: 'placeholder-service',
  team: 'placeholder-team',
});

const VARIABLE = /\$([A-Za-z_][A-Za-z0-9_]*)/g;
const KNOWN = DASHBOARD_VARIABLES.map((v) => v.slice(1));

/** Whether `value` may stand for a variable. */
export function isDashboardValue(value: string): boolean {
  return DASHBOARD_VALUE.test(value);
}

/** The variables the query uses. */
export function usedVariables(query: string): Set<DashboardVariable> {
  const used = new Set<DashboardVariable>();
  for (const match of query.matchAll(VARIABLE)) {
    if (KNOWN.includes(match[1]!)) used.add(match[1] as DashboardVariable);
  }
  return used;
}

/** `$names` the query uses that are not variables, each with a likely meant one. */
export function unknownVariables(query: string): Array<{ name: string; offset: number; didYouMean?: string }> {
  const found: Array<{ name: string; offset: number; didYouMean?: string }> = [];
  for (const match of query.matchAll(VARIABLE)) {
    const name = match[1]!;
    if (KNOWN.includes(name)) continue;
    const meant = closestMatch(name, KNOWN);
    found.push({ name, offset: match.index, ...(meant !== undefined ? { didYouMean: `$${meant}` } : {}) });
  }
  return found;
}

/**
 * The query with $env, $service and $team replaced by `values`. Every value used is checked
 * first (throws a plain Error naming the variable: callers validate request values before this
 * and check at load that each variable used has a value, so a failure here is a bug, never
 * something to show as it is). Unknown `$names` are left as they are; PromQL has no `$`, so such
 * a query does not parse.
 */
export function substituteVariables(query: string, values: DashboardValues): string {
  for (const name of usedVariables(query)) {
    const value = values[name];
    if (value === undefined || !isDashboardValue(value)) throw new Error(`$${name} has no DNS-safe value`);
  }
  return query.replace(VARIABLE, (whole, name: string) =>
    KNOWN.includes(name) ? values[name as DashboardVariable]! : whole,
  );
}
