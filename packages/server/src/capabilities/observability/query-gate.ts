// The PromQL query gate: what a caller may read of the metrics, and the forwarding to Prometheus.
// Admins query as they are; everyone else's queries and match[] selectors get team ∈ their
// Groups and env ∈ the environments deploy:read lets them read those teams' services in.
import { IdpError, type Principal } from '@idp/contracts';
import { parseQuery, parseSeriesSelector, scopedMatchAll, scopeParsed, type Scope } from '@idp/core';
import type { ObservabilityConfig } from '../../config/index.ts';
import { prometheusRequest, type PrometheusAnswer } from './prometheus-client.ts';

export interface QueryGateDeps {
  /** Where Prometheus answers (observability.prometheus.url, or the managed one); null: none. */
  prometheusUrl(): string | null;
  limits: ObservabilityConfig['query'];
  /** The deploy:read decision for a team's services in one environment (DeployAuthorizer.mayReadTeamsIn). */
  mayReadTeamsIn(principalRef: string, teams: readonly string[], env: string): Promise<boolean>;
  /** For the scope cache; default Date.now. */
  now?: () => number;
}

/**
 * A caller's scope is reused this long (per user and set of teams): working it out costs a
 * Prometheus call and a policy decision per environment, more than the query itself. A change of
 * what the policies allow reaches metrics queries at most this late.
 */
export const SCOPE_CACHE_MS = 5_000;
const SCOPE_CACHE_MAX = 1_000;

/** What Prometheus answered, passed on as it is (status code and JSON text). */
export interface Forwarded {
  status: number;
  /** The JSON text (decoded from `bytes` when first read). */
  readonly body: string;
  /** The body as Prometheus sent it, when it came from Prometheus: the routes pass these bytes on undecoded. */
  readonly bytes?: Buffer;
}

export type QueryEndpoint = 'query' | 'query_range' | 'series' | 'labels' | `label/${string}/values`;

/** The request parameters each endpoint passes on (besides query, match[] and timeout, which the gate sets). */
const PASSED: Record<'query' | 'query_range' | 'series' | 'labels', readonly string[]> = {
  query: ['time'],
  query_range: ['start', 'end', 'step'],
  series: ['start', 'end', 'limit'],
  labels: ['start', 'end', 'limit'],
};

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export class QueryGate {
  private readonly scopes = new Map<string, { at: number; scope: Promise<Scope> }>();
  /** Prometheus' own timeout (observability.query.timeout) and a little more for the answer to arrive. */
  private readonly forwardTimeoutMs: number;

  constructor(private readonly deps: QueryGateDeps) {
    this.forwardTimeoutMs = ((durationSeconds(deps.limits.timeout) ?? 30) + 5) * 1000;
  }

  /** The caller's scope: all for admins, else their teams and the environments they may read them in. */
  async scopeFor(principal: Principal): Promise<Scope> {
    if (principal.roles.includes('admin')) return { all: true };
    const teams = [...new Set(principal.teams)].sort();
    if (teams.length === 0) return { matchers: [{ label: 'team', values: [] }] };
    const now = (this.deps.now ?? Date.now)();
    const key = `${principal.ref}\0${teams.join(',')}`;
    const cached = this.scopes.get(key);
    if (cached && now - cached.at < SCOPE_CACHE_MS) return cached.scope;
    const scope = this.computeScope(principal, teams);
    this.scopes.delete(key);
    if (this.scopes.size >= SCOPE_CACHE_MAX) this.scopes.delete(this.scopes.keys().next().value!);
    this.scopes.set(key, { at: now, scope });
    // A failed computation (Prometheus down) is not remembered.
    scope.catch(() => {
      if (this.scopes.get(key)?.scope === scope) this.scopes.delete(key);
    });
    return scope;
  }

  private async computeScope(principal: Principal, teams: string[]): Promise<Scope> {
    const teamScope: Scope = { matchers: [{ label: 'team', values: teams }] };
    // The env values of the teams' series, each decided by the deploy:read rule.
    const answer = await this.forward(
      'label/env/values',
      new URLSearchParams([['match[]', scopedMatchAll(teamScope)]]),
    );
    const envs = parseData<string[]>(answer.body) ?? [];
    const readable: string[] = [];
    for (const env of envs) {
      if (env !== '' && (await this.deps.mayReadTeamsIn(principal.ref, teams, env))) readable.push(env);
    }
    return {
      matchers: [
        { label: 'team', values: teams },
        { label: 'env', values: readable.sort() },
      ],
    };
  }

  /** Answers one endpoint for the caller: scopes the query or match[], checks the limits, forwards. */
  async answer(principal: Principal, endpoint: QueryEndpoint, params: URLSearchParams): Promise<Forwarded> {
    const limits = { maxQueryBytes: this.deps.limits.maxQueryBytes };
    const kind = endpointKind(endpoint);
    if (kind === 'label') {
      const name = endpoint.split('/')[1] ?? '';
      if (!LABEL_NAME.test(name)) {
        throw new IdpError('OBSERVABILITY_QUERY_INVALID', `invalid label name ${JSON.stringify(name.slice(0, 80))}`, {
          field: 'name',
          errorType: 'bad_data',
        });
      }
    }
    const out = new URLSearchParams();
    for (const key of PASSED[kind === 'label' ? 'labels' : kind]) {
      const value = params.get(key);
      if (value !== null) out.set(key, value);
    }
    out.set('timeout', this.deps.limits.timeout);
    if (kind === 'query' || kind === 'query_range') {
      const query = params.get('query') ?? '';
      if (kind === 'query_range') this.checkRange(params);
      // Parse and size first: a bad query is refused before the scope costs a Prometheus call.
      // The tree is kept: scoping splices into it without parsing the query again.
      const parsed = parseQuery(query, limits);
      if (!parsed.ok) throw parsed.error;
      const scoped = scopeParsed(parsed.parsed, await this.scopeFor(principal));
      if (!scoped.ok) throw scoped.error;
      out.set('query', scoped.query);
    } else {
      const selectors = [];
      for (const selector of params.getAll('match[]')) {
        const parsed = parseSeriesSelector(selector, limits);
        if (!parsed.ok) throw parsed.error;
        selectors.push(parsed.parsed);
      }
      const scope = await this.scopeFor(principal);
      if (selectors.length === 0 && !('all' in scope)) {
        const all = parseSeriesSelector('{__name__=~".+"}', limits);
        if (all.ok) selectors.push(all.parsed);
      }
      for (const selector of selectors) {
        const scoped = scopeParsed(selector, scope);
        if (!scoped.ok) throw scoped.error;
        out.append('match[]', scoped.query);
      }
    }
    return this.forward(endpoint, out);
  }

  /** query_range's start, end and step against maxRange and maxPoints. */
  private checkRange(params: URLSearchParams): void {
    const start = parseTime(params.get('start'), 'start');
    const end = parseTime(params.get('end'), 'end');
    const step = parseStep(params.get('step'));
    if (end < start) throw invalid('end is before start', 'end');
    const rangeSeconds = end - start;
    const maxRange = durationSeconds(this.deps.limits.maxRange) ?? Infinity;
    if (rangeSeconds > maxRange) {
      throw new IdpError(
        'OBSERVABILITY_QUERY_TOO_LARGE',
        `the range is ${Math.round(rangeSeconds)}s, more than observability.query.maxRange (${this.deps.limits.maxRange})`,
        { field: 'end', errorType: 'bad_data' },
      );
    }
    const points = Math.floor(rangeSeconds / step) + 1;
    if (points > this.deps.limits.maxPoints) {
      throw new IdpError(
        'OBSERVABILITY_QUERY_TOO_LARGE',
        `the range and step give ${points} points per series, more than observability.query.maxPoints (${this.deps.limits.maxPoints}); raise the step`,
        { field: 'step', errorType: 'bad_data' },
      );
    }
  }

  private async forward(endpoint: QueryEndpoint, params: URLSearchParams): Promise<Forwarded> {
    const base = this.deps.prometheusUrl();
    if (!base) {
      throw new IdpError(
        'OBSERVABILITY_UNAVAILABLE',
        'no Prometheus to query: observability.prometheus.url is unset and no managed Prometheus is running (observability.prometheus.binary)',
        { errorType: 'unavailable' },
      );
    }
    const timeoutMs = this.forwardTimeoutMs;
    let res: PrometheusAnswer;
    try {
      const url = `${base.replace(/\/+$/, '')}/api/v1/${endpoint}`;
      // Prometheus takes label values by GET only; the rest by POST (long queries stay out of URLs).
      res = endpoint.startsWith('label/')
        ? await prometheusRequest(`${url}?${params.toString()}`, { timeoutMs })
        : await prometheusRequest(url, { timeoutMs, form: params.toString() });
    } catch {
      throw unavailable();
    }
    // A proxy's or a starting Prometheus' non-API answer is "unavailable", not something to pass on.
    if (!res.json || res.status >= 500) {
      if (res.json && res.status === 503 && /"errorType":"timeout"/.test(res.body.toString('utf8'))) {
        return forwarded(res.status, res.body);
      }
      throw unavailable();
    }
    return forwarded(res.status, res.body);
  }
}

function forwarded(status: number, bytes: Buffer): Forwarded {
  let text: string | undefined;
  return {
    status,
    bytes,
    get body() {
      return (text ??= bytes.toString('utf8'));
    },
  };
}

function unavailable(): IdpError {
  return new IdpError(
    'OBSERVABILITY_UNAVAILABLE',
    'Prometheus did not answer (observability.prometheus.url, or the managed one of observability.prometheus.binary)',
    { errorType: 'unavailable' },
  );
}

function invalid(message: string, field: string): IdpError {
  return new IdpError('OBSERVABILITY_QUERY_INVALID', message, { field, errorType: 'bad_data' });
}

function endpointKind(endpoint: QueryEndpoint): 'query' | 'query_range' | 'series' | 'labels' | 'label' {
  if (endpoint === 'query' || endpoint === 'query_range' || endpoint === 'series' || endpoint === 'labels') {
    return endpoint;
  }
  return 'label';
}

function parseData<T>(body: string): T | undefined {
  try {
    const parsed = JSON.parse(body) as { status?: string; data?: T };
    return parsed.status === 'success' ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Seconds since the epoch from Prometheus' forms: a Unix timestamp (with fractions) or RFC 3339. */
function parseTime(value: string | null, field: string): number {
  if (value === null || value === '') throw invalid(`${field} is required`, field);
  if (/^-?[0-9]+(\.[0-9]+)?$/.test(value)) return Number(value);
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw invalid(`cannot parse ${JSON.stringify(value.slice(0, 40))} as a time`, field);
  return ms / 1000;
}

function parseStep(value: string | null): number {
  if (value === null || value === '') throw invalid('step is required', 'step');
  const seconds = /^[0-9]+(\.[0-9]+)?$/.test(value) ? Number(value) : durationSeconds(value);
  if (seconds === undefined || !(seconds > 0)) {
    throw invalid(`step ${JSON.stringify(value.slice(0, 40))} is not a positive duration or number`, 'step');
  }
  return seconds;
}

const UNIT_SECONDS = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 } as const;

/** A Prometheus duration (1h30m, 15s, 500ms) in seconds; undefined when it is not one. */
export function durationSeconds(value: string): number | undefined {
  if (!/^([0-9]+(ms|s|m|h|d|w|y))+$/.test(value)) return undefined;
  let total = 0;
  for (const [, n, unit] of value.matchAll(/([0-9]+)(ms|s|m|h|d|w|y)/g)) {
    total += Number(n) * UNIT_SECONDS[unit as keyof typeof UNIT_SECONDS];
  }
  return total;
}
