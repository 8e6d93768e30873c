import type { Services } from './app.ts';
import type { Clock, IdSource } from './clock.ts';

/** What `startServer` takes; every option has an environment variable or a config setting as its default. */
export interface StartOptions {
  port?: number;
  host?: string;
  dataDir?: string;
  configPath?: string;
  databaseUrl?: string;
  adminToken?: string;
  logLevel?: string;
  clock?: Clock;
  ids?: IdSource;
  /** false: no periodic catalog refresh (tests that want a still catalog). */
  catalogTimer?: boolean;
  /** The secret store's master key (hex or base64 of 32 bytes); else IDP_MASTER_KEY, else <data-dir>/master.key. */
  masterKey?: string;
  /** PostgreSQL admin URL for environments' databases; else IDP_POSTGRES_ADMIN_URL, else config postgres.adminUrl. */
  postgresAdminUrl?: string;
  /** Redis URL for environments' keyspaces; else IDP_REDIS_URL, else config redis.url. */
  redisUrl?: string;
  /** The edge proxy's port; else IDP_PROXY_PORT, else 7080 (0 picks a free one). */
  proxyPort?: number;
  /** false: no reaper or snapshot timers (tests drive them). */
  environmentTimers?: boolean;
  /** The bubblewrap binary for the workload sandbox; else IDP_BWRAP_PATH, else `bwrap` on PATH or /usr/bin/bwrap. */
  bwrapPath?: string;
  /** The audit chain's HMAC key (hex or base64 of 32 bytes); else IDP_AUDIT_KEY, else <data-dir>/audit.key. */
  auditKey?: string;
  /** Where start-up messages go; stderr by default (stdout is for results). */
  log?: (line: string) => void;
  /** The OTLP/HTTP trace receiver's port; else IDP_OTLP_PORT, else observability.traces.port, else 4318 (or a free one when taken). */
  otlpPort?: number;
}

export interface RunningServer {
  url: string;
  port: number;
  dataDir: string;
  adminTokenSource: string;
  services: Services;
  /** The OTLP/HTTP trace receiver, e.g. http://127.0.0.1:4318 (workloads export to <it>/v1/traces). */
  otlpEndpoint: string;
  close(): Promise<void>;
}
