// The proxy's routing table: cached Host → route lookup, weighted stable/canary choice, round-robin over healthy replicas.
import type { ReleaseStats } from './metrics.ts';
import type { BackendSpec, ProxyTarget, RouteSpec } from './proxy-types.ts';
import type { ProxySpanRing } from './spans.ts';

export interface Backend {
  release: string;
  targets: ProxyTarget[];
  healthy: ProxyTarget[];
  next: number;
  stats: ReleaseStats;
}

export interface Route {
  service: string;
  namespace: string;
  stable: Backend;
  canary: Backend | undefined;
  weight: number;
  /** Smooth weighted split: add the weight per request, serve the canary at each 100 crossed. */
  credit: number;
  /** The request spans of this service in this namespace (bounded). */
  spans: ProxySpanRing;
}

const HOST_CACHE_LIMIT = 10_000;

function makeBackend(spec: BackendSpec, stats: ReleaseStats): Backend {
  const targets = spec.targets.map((target) => ({ ...target }));
  return {
    release: spec.release,
    targets,
    healthy: targets.filter((target) => target.healthy !== false),
    next: 0,
    stats,
  };
}

/** Stable or canary by weight; the other one when the chosen has no healthy replica. */
export function chooseBackend(route: Route): Backend {
  let backend = route.stable;
  const canary = route.canary;
  if (canary !== undefined && route.weight > 0) {
    route.credit += route.weight;
    if (route.credit >= 100) {
      route.credit -= 100;
      backend = canary;
    }
  }
  if (backend.healthy.length === 0) {
    const other = backend === route.stable ? canary : route.stable;
    if (other !== undefined && other.healthy.length > 0) return other;
  }
  return backend;
}

/** The next healthy replica of a backend, round-robin; undefined when none is healthy. */
export function pickTarget(backend: Backend): ProxyTarget | undefined {
  const healthy = backend.healthy;
  if (healthy.length === 0) return undefined;
  if (backend.next >= healthy.length) backend.next = 0;
  return healthy[backend.next++];
}

export class RouteTable {
  private readonly routes = new Map<string, Route>();
  /** Raw Host header → route, so a request costs one map lookup to route. */
  private readonly hostCache = new Map<string, Route>();

  /** `suffix` is the host suffix routes live under, with its leading dot (`.localhost`). */
  constructor(private readonly suffix: string) {}

  set(
    service: string,
    namespace: string,
    spec: RouteSpec,
    statsFor: (release: string) => ReleaseStats,
    spansFor: (service: string, namespace: string) => ProxySpanRing,
  ): void {
    const weight = spec.canary === undefined ? 0 : spec.canary.weight;
    if (!(weight >= 0 && weight <= 100)) throw new RangeError(`canary weight must be within 0..100, got ${weight}`);
    const key = `${service.toLowerCase()}.${namespace.toLowerCase()}`;
    const stable = makeBackend(spec.stable, statsFor(spec.stable.release));
    const canary = spec.canary === undefined ? undefined : makeBackend(spec.canary, statsFor(spec.canary.release));
    const existing = this.routes.get(key);
    if (existing !== undefined) {
      // Update in place: the host cache and requests being routed keep pointing at this object.
      existing.stable = stable;
      existing.canary = canary;
      if (existing.weight !== weight) existing.credit = 0;
      existing.weight = weight;
      return;
    }
    this.routes.set(key, {
      service,
      namespace,
      stable,
      canary,
      weight,
      credit: 0,
      spans: spansFor(service, namespace),
    });
  }

  remove(service: string, namespace: string): boolean {
    const removed = this.routes.delete(`${service.toLowerCase()}.${namespace.toLowerCase()}`);
    if (removed) this.hostCache.clear();
    return removed;
  }

  get(service: string, namespace: string): RouteSpec | undefined {
    const route = this.routes.get(`${service.toLowerCase()}.${namespace.toLowerCase()}`);
    if (route === undefined) return undefined;
    const copy = (backend: Backend): BackendSpec => ({
      release: backend.release,
      targets: backend.targets.map((target) => ({ ...target })),
    });
    const spec: RouteSpec = { stable: copy(route.stable) };
    if (route.canary !== undefined) spec.canary = { ...copy(route.canary), weight: route.weight };
    return spec;
  }

  /** Take a replica of a release out of rotation (or back in) on every route that uses it. */
  setTargetHealth(release: string, target: { host: string; port: number }, healthy: boolean): void {
    for (const route of this.routes.values()) {
      for (const backend of route.canary === undefined ? [route.stable] : [route.stable, route.canary]) {
        if (backend.release !== release) continue;
        for (const candidate of backend.targets) {
          if (candidate.host === target.host && candidate.port === target.port) candidate.healthy = healthy;
        }
        backend.healthy = backend.targets.filter((candidate) => candidate.healthy !== false);
      }
    }
  }

  /** Whether any route sends traffic to the release, as stable or canary. */
  routesTo(release: string): boolean {
    for (const route of this.routes.values()) {
      if (route.stable.release === release || route.canary?.release === release) return true;
    }
    return false;
  }

  lookup(hostHeader: string | undefined): Route | undefined {
    if (hostHeader === undefined) return undefined;
    const cached = this.hostCache.get(hostHeader);
    if (cached !== undefined) return cached;
    let host = hostHeader.toLowerCase();
    const colon = host.indexOf(':');
    if (colon >= 0) host = host.slice(0, colon);
    if (host.endsWith('.')) host = host.slice(0, -1);
    if (!host.endsWith(this.suffix)) return undefined;
    const route = this.routes.get(host.slice(0, host.length - this.suffix.length));
    if (route !== undefined && this.hostCache.size < HOST_CACHE_LIMIT) this.hostCache.set(hostHeader, route);
    return route;
  }
}
