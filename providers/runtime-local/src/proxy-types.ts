// The edge proxy's public shapes: its options and the route, backend and target specs callers pass.

export interface ProxyTarget {
  host: string;
  port: number;
  /** False takes the replica out of rotation (e.g. after failed health checks). Default true. */
  healthy?: boolean;
}

export interface BackendSpec {
  /** Release key; metrics are kept per release key across route changes. */
  release: string;
  targets: ProxyTarget[];
}

export interface CanarySpec extends BackendSpec {
  /** Share of requests for the canary, 0..100. */
  weight: number;
}

export interface RouteSpec {
  stable: BackendSpec;
  canary?: CanarySpec;
}

export interface EdgeProxyOptions {
  /** IDP_PROXY_PORT (7080 by default in the control plane); 0 picks a free port. */
  port: number;
  /** Interface to listen on. Default 127.0.0.1: `*.localhost` resolves there. */
  host?: string;
  /** Host suffix routes live under. Default `localhost`. */
  domain?: string;
  /** A backend that has not started its answer after this long gets a 504. 0 disables. Default 60 s. */
  upstreamTimeoutMs?: number;
  /** Idle keep-alive connections from clients are closed after this. Default 65 s. */
  keepAliveTimeoutMs?: number;
  /** Request spans kept per service and namespace (the oldest dropped). Default 5,000. */
  spansPerRoute?: number;
  /**
   * Forward plain HTTP/1.1 requests on the proxy's own fast path (strict head parsing, replica
   * connections reused, bodies relayed as they are); false leaves every request to node's HTTP
   * server and client. Default true.
   */
  fastPath?: boolean;
}
