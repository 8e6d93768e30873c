// A dashboard's data: each panel's query_range through the query gate as the caller.
import {
  IdpError,
  type DashboardData,
  type DashboardQuery,
  type PanelData,
  type PanelSeries,
  type Principal,
} from '@idp/contracts';
import { isDashboardValue, substituteVariables } from '@idp/core';
import type { LoadedDashboard } from './dashboards.ts';
import type { QueryGate } from './query-gate.ts';

/** Panels queried at once per request: a 24-panel dashboard does not send Prometheus 24 queries together. */
export const PANEL_CONCURRENCY = 4;
/** Series one panel shows; more are cut (PanelData.truncated). */
export const MAX_PANEL_SERIES = 200;

const SINCE_SECONDS = { m: 60, h: 3600, d: 86_400 } as const;

export interface DashboardDataDeps {
  gate: Pick<QueryGate, 'answer'>;
  /** Unix milliseconds; default Date.now. */
  now?: () => number;
}

/**
 * Runs every panel of `dashboard` over the last `since` in `env` as `principal`: the gate scopes
 * each query exactly like the caller's own queries, so a dashboard shows nothing its viewer
 * could not query. One panel's failure is that panel's `error`; only when every panel found
 * Prometheus unavailable is the answer OBSERVABILITY_UNAVAILABLE (503) as a whole, and when the
 * range is over the gate's limits for every panel, OBSERVABILITY_QUERY_TOO_LARGE (422).
 */
export async function dashboardData(
  deps: DashboardDataDeps,
  principal: Principal,
  dashboard: LoadedDashboard,
  query: DashboardQuery,
): Promise<DashboardData> {
  checkEnv(query.env);
  const match = /^([0-9]+)(m|h|d)$/.exec(query.since);
  if (!match) throw new IdpError('VALIDATION_FAILED', 'since: a duration such as 15m, 1h or 2d', { field: 'since' });
  const since = Number(match[1]) * SINCE_SECONDS[match[2] as keyof typeof SINCE_SECONDS];
  const end = Math.floor((deps.now ?? Date.now)() / 1000);
  const step = Math.max(Math.ceil(since / query.points), 1);
  const start = end - since;
  const { spec } = dashboard;
  const values = {
    env: query.env,
    ...(spec.service ? { service: spec.service } : {}),
    ...(dashboard.team ? { team: dashboard.team } : {}),
  };

  const panels: PanelData[] = new Array<PanelData>(spec.panels.length);
  let next = 0;
  const worker = async () => {
    while (next < spec.panels.length) {
      const index = next++;
      const panel = spec.panels[index]!;
      const base = { title: panel.title, unit: panel.unit, query: panel.query };
      try {
        const text = substituteVariables(panel.query, values);
        base.query = text;
        const params = new URLSearchParams({ query: text, start: String(start), end: String(end), step: String(step) });
        const answer = await deps.gate.answer(principal, 'query_range', params);
        panels[index] = { ...base, ...seriesOf(answer.body, panel.legend, { start, end, step }) };
      } catch (err) {
        const e =
          err instanceof IdpError ? err : new IdpError('INTERNAL', `the panel could not be evaluated: ${String(err)}`);
        panels[index] = { ...base, series: [], error: { code: e.code, message: e.message } };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(PANEL_CONCURRENCY, spec.panels.length) }, worker));

  if (panels.every((p) => p.error?.code === 'OBSERVABILITY_UNAVAILABLE')) {
    throw new IdpError('OBSERVABILITY_UNAVAILABLE', panels[0]!.error!.message, { errorType: 'unavailable' });
  }
  // `since` over the gate's maxRange (or points over maxPoints) is the request's fault, not the panels'.
  if (panels.every((p) => p.error?.code === 'OBSERVABILITY_QUERY_TOO_LARGE')) {
    throw new IdpError('OBSERVABILITY_QUERY_TOO_LARGE', panels[0]!.error!.message, { field: 'since' });
  }
  return {
    name: spec.name,
    title: spec.title ?? spec.name,
    team: dashboard.team,
    source: dashboard.source,
    ...(spec.service ? { service: spec.service } : {}),
    env: query.env,
    start,
    end,
    step,
    panels,
  };
}

/** `env` stands in for $env: a DNS-safe name, checked before anything else. */
export function checkEnv(env: string): void {
  if (!isDashboardValue(env)) {
    throw new IdpError('VALIDATION_FAILED', `env: ${JSON.stringify(env.slice(0, 60))} is not an environment name`, {
      field: 'env',
      hint: 'Give an environment name such as staging (letters, digits, - . _).',
    });
  }
}

interface Matrix {
  metric: Record<string, string>;
  values: Array<[number, string]>;
}

/** Prometheus' answer as the panel's series, one point per step (null where it had no sample). */
function seriesOf(
  body: string,
  legend: string | undefined,
  range: { start: number; end: number; step: number },
): Pick<PanelData, 'series' | 'error' | 'truncated'> {
  let parsed: { status?: string; error?: string; errorType?: string; data?: { resultType?: string; result?: unknown } };
  try {
    parsed = JSON.parse(body) as typeof parsed;
  } catch {
    return { series: [], error: { code: 'OBSERVABILITY_UNAVAILABLE', message: 'Prometheus answered with no JSON' } };
  }
  if (parsed.status !== 'success') {
    const code = parsed.errorType === 'timeout' ? 'OBSERVABILITY_UNAVAILABLE' : 'OBSERVABILITY_QUERY_INVALID';
    return { series: [], error: { code, message: parsed.error ?? 'Prometheus refused the query' } };
  }
  const result = parsed.data?.resultType === 'matrix' && Array.isArray(parsed.data.result) ? parsed.data.result : [];
  const rows = result as Matrix[];
  const count = Math.floor((range.end - range.start) / range.step) + 1;
  const series: PanelSeries[] = rows.slice(0, MAX_PANEL_SERIES).map((row) => {
    const byTime = new Map<number, number>();
    for (const [t, v] of row.values) {
      const n = Number(v);
      if (Number.isFinite(n)) byTime.set(Math.round(t), n);
    }
    const points: Array<[number, number | null]> = [];
    let last: number | null = null;
    for (let i = 0; i < count; i++) {
      const t = range.start + i * range.step;
      const v = byTime.get(t) ?? null;
      points.push([t, v]);
      if (v !== null) last = v;
    }
    return { labels: row.metric, name: legendOf(row.metric, legend), points, last };
  });
  return rows.length > MAX_PANEL_SERIES ? { series, truncated: true } : { series };
}

/** `{{label}}` replaced by the series' labels; without a legend, the labels themselves. */
export function legendOf(labels: Record<string, string>, legend: string | undefined): string {
  if (legend !== undefined && legend !== '') {
    return legend.replace(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g, (_m, name: string) => labels[name] ?? '');
  }
  const parts = Object.entries(labels)
    .filter(([k]) => k !== '__name__')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}="${v}"`);
  const name = labels.__name__ ?? '';
  return parts.length > 0 ? `${name}{${parts.join(', ')}}` : name || 'value';
}
