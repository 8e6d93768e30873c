import { ERROR_CODES, IdpError, isErrorCode } from '@idp/contracts';
import type {
  AuditQuery,
  AuditRecord,
  AuditVerification,
  CatalogEntity,
  CatalogError,
  CatalogLocation,
  CreatedToken,
  CreateTokenRequest,
  DependencyTree as DependencyTreeSchema,
  Health,
  ImpactEntry as ImpactEntrySchema,
  ImpactReport,
  OnCallContact,
  PolicyCheckRequest,
  PolicyDecision,
  Principal,
  Readiness,
  RefreshResult,
  RegisterLocationRequest,
  Team,
  TeamSummary as TeamSummarySchema,
  Token,
} from '@idp/contracts';
import type {
  CreateEnvironmentRequest,
  Environment,
  EnvironmentConnection,
  EnvironmentList,
} from '@idp/contracts';
import type {
  CreateDeploymentRequest,
  Deployment,
  Release,
  RollbackRequest,
} from '@idp/contracts';
import type {
  AccessRequest,
  AccessStats,
  SecretMeta,
  SecretValue,
  SecretVersionList,
  WorkloadToken,
  WorkloadTokenInfo,
} from '@idp/contracts';

// Output types of schemas that contracts exports without a matching type alias; read off the
// schema itself so the client needs no direct zod dependency.
export type HealthStatus = (typeof Health)['_zod']['output'];
export type ReadinessStatus = (typeof Readiness)['_zod']['output'];
export type DependencyTree = (typeof DependencyTreeSchema)['_zod']['output'];
export type ImpactEntry = (typeof ImpactEntrySchema)['_zod']['output'];
export type TeamSummary = (typeof TeamSummarySchema)['_zod']['output'];

// Lists keep the API's `{items}` wrapper so paging fields can be added without breaking callers.
export interface TokenList {
  items: Token[];
}

export interface AuditList {
  items: AuditRecord[];
}

export interface CatalogLocationList {
  items: CatalogLocation[];
}

export interface RefreshResultList {
  items: RefreshResult[];
}

export interface CatalogErrorList {
  items: CatalogError[];
}

/** One page of entities; pass `nextCursor` back as `cursor` for the next one (null: last page). */
export interface CatalogEntityPage {
  items: CatalogEntity[];
  totalItems: number;
  nextCursor: string | null;
}

export interface TeamList {
  items: TeamSummary[];
}

/** A location to register; `dryRun` defaults to false on the server. */
export type RegisterLocation = Omit<RegisterLocationRequest, 'dryRun'> & { dryRun?: boolean };

/** Entity list filters, all optional; `q` is a free-text search, `cursor` continues a listing. */
export interface EntityFilter {
  kind?: string;
  owner?: string;
  type?: string;
  q?: string;
  limit?: number;
  cursor?: string;
}

/** The audit filters; all optional, the server applies its defaults (limit 100). */
export type AuditFilter = Partial<AuditQuery>;

export interface SecretList {
  items: SecretMeta[];
}

export interface SecretFilter {
  env?: string;
  service?: string;
}

export interface WorkloadTokenList {
  items: WorkloadTokenInfo[];
}

export interface AccessRequestList {
  items: AccessRequest[];
}

export interface AccessFilter {
  pending?: boolean;
  mine?: boolean;
  toReview?: boolean;
  limit?: number;
}

/** `mine` (the default on the server): the caller's own; `all`: every environment the caller may see. */
export interface EnvironmentFilter {
  scope?: 'mine' | 'all';
  includeDeleted?: boolean;
}

export interface WatchEnvironmentOptions {
  /** Stop polling once this holds for the environment just read; the watch resolves with it. */
  until: (env: Environment) => boolean;
  /** Between two reads; default 250 ms. */
  intervalMs?: number;
  /** Called with every read, the last one (for which `until` holds) included. */
  onUpdate?: (env: Environment) => void;
  /**
   * How long the control plane may stay unreachable (e.g. while it restarts and resumes the
   * work) before the watch gives up with SERVER_UNREACHABLE; default 30 s.
   */
  unreachableGraceMs?: number;
  signal?: AbortSignal;
}

export interface DeploymentListResult {
  items: Deployment[];
}

/** Deployment list filters; the server defaults `limit` to 20. */
export interface DeploymentFilter {
  service?: string;
  env?: string;
  limit?: number;
}

export interface WatchDeploymentOptions {
  /** Stop polling once this holds for the deployment just read; the watch resolves with it. */
  until: (deployment: Deployment) => boolean;
  /** Between two reads; default 500 ms. */
  intervalMs?: number;
  /** Called with every read, the last one (for which `until` holds) included. */
  onUpdate?: (deployment: Deployment) => void;
  /** How long the control plane may stay unreachable (a restart resumes the rollout); default 30 s. */
  unreachableGraceMs?: number;
  signal?: AbortSignal;
}

/** How long an upload may take: the server builds the release (e.g. `npm ci`) before it answers. */
const RELEASE_UPLOAD_TIMEOUT_MS = 15 * 60_000;

/** A policy question; `context` defaults to {} on the server. */
export type PolicyQuestion = Omit<PolicyCheckRequest, 'context'> & { context?: Record<string, unknown> };

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export type QueryValue = string | number | boolean | null | undefined;

export interface RequestOptions {
  query?: Record<string, QueryValue>;
  /** Sent as JSON. */
  body?: unknown;
  /** Sent as is with its content type, instead of a JSON `body` (an archive upload). */
  rawBody?: { data: Uint8Array; contentType: string };
  /** This request's own limit, instead of the client's. */
  timeoutMs?: number;
}

export interface IdpClientOptions {
  /** Base URL of the control plane, e.g. http://localhost:7070. */
  url: string;
  /** API token sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Defaults to the global fetch; injectable for other runtimes (browser, tests with a proxy). */
  fetch?: typeof fetch;
  /** Give up on a request after this long; default 30 s. */
  timeoutMs?: number;
}

interface RawResponse {
  status: number;
  body: unknown;
  requestId: string | undefined;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * Typed access to the idp HTTP API. Every failure surfaces as an IdpError: the server's own
 * error envelope is turned back into the IdpError it was made from, so the CLI and portal
 * render server errors exactly like local ones.
 */
export class IdpClient {
  readonly url: string;
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;
  readonly #timeoutMs: number;

  constructor(opts: IdpClientOptions) {
    this.url = normalizeBaseUrl(opts.url);
    this.#token = opts.token ? checkedToken(opts.token) : undefined;
    // Bound lazily so a fetch stubbed after construction (or a polyfill) is still picked up.
    this.#fetch = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  get hasToken(): boolean {
    return this.#token !== undefined;
  }

  health(): Promise<HealthStatus> {
    return this.request('GET', '/healthz');
  }

  /** Not-ready is an answer, not an error: the server reports it as 503 with the same body. */
  async readiness(): Promise<ReadinessStatus> {
    const res = await this.#send('GET', '/readyz', {});
    if (res.status === 503 && isReadinessBody(res.body)) return res.body;
    return this.#unwrap<ReadinessStatus>('GET', '/readyz', res);
  }

  whoami(): Promise<Principal> {
    return this.request('GET', '/api/whoami');
  }

  createToken(req: CreateTokenRequest): Promise<CreatedToken> {
    return this.request('POST', '/api/tokens', { body: req });
  }

  listTokens(): Promise<TokenList> {
    return this.request('GET', '/api/tokens');
  }

  revokeToken(id: string): Promise<Token> {
    return this.request('DELETE', `/api/tokens/${encodeURIComponent(id)}`);
  }

  /** Newest first. */
  listAudit(filter: AuditFilter = {}): Promise<AuditList> {
    return this.request('GET', '/api/audit', { query: { ...filter } });
  }

  verifyAudit(): Promise<AuditVerification> {
    return this.request('GET', '/api/audit/verify');
  }

  checkPolicy(question: PolicyQuestion): Promise<PolicyDecision> {
    return this.request('POST', '/api/policy/check', { body: question });
  }

  /** Reads the location now; a dry run reports what it would add without storing anything. */
  registerLocation(req: RegisterLocation): Promise<RefreshResult> {
    return this.request('POST', '/api/catalog/idp/locations', { body: req });
  }

  listLocations(): Promise<CatalogLocationList> {
    return this.request('GET', '/api/catalog/idp/locations');
  }

  /** Marks or unmarks a location as an identity source (platform admins) and reads it again. */
  setIdentitySource(id: string, identitySource: boolean): Promise<RefreshResult> {
    return this.request('PUT', `/api/catalog/idp/locations/${encodeURIComponent(id)}/identity-source`, { body: { identitySource } });
  }

  refreshLocation(id: string): Promise<RefreshResult> {
    return this.request('POST', `/api/catalog/idp/locations/${encodeURIComponent(id)}/refresh`);
  }

  /** Every location, one after another, on the server. */
  refreshAll(): Promise<RefreshResultList> {
    return this.request('POST', '/api/catalog/idp/refresh');
  }

  /** Removes the location and the entities it provided. */
  async deleteLocation(id: string): Promise<void> {
    await this.request('DELETE', `/api/catalog/idp/locations/${encodeURIComponent(id)}`);
  }

  /** Problems met reading locations: every location's, or one location's by id. */
  catalogErrors(locationId?: string): Promise<CatalogErrorList> {
    return this.request('GET', '/api/catalog/idp/errors', { query: { location: locationId } });
  }

  listEntities(filter: EntityFilter = {}): Promise<CatalogEntityPage> {
    return this.request('GET', '/api/catalog/idp/entities', { query: { ...filter } });
  }

  /** `ref` may be short (`payments-api`, `group:payments`); the server resolves it. */
  getEntity(ref: string): Promise<CatalogEntity> {
    return this.request('GET', '/api/catalog/idp/entity', { query: { ref } });
  }

  /** What `ref` depends on, as a tree; `depth` defaults on the server. */
  dependencies(ref: string, depth?: number): Promise<DependencyTree> {
    return this.request('GET', '/api/catalog/idp/deps', { query: { ref, depth } });
  }

  /** Everything that depends on `ref`, transitively, with the teams to tell. */
  impact(ref: string): Promise<ImpactReport> {
    return this.request('GET', '/api/catalog/idp/impact', { query: { ref } });
  }

  oncall(ref: string): Promise<OnCallContact> {
    return this.request('GET', '/api/catalog/idp/oncall', { query: { ref } });
  }

  listTeams(): Promise<TeamList> {
    return this.request('GET', '/api/teams');
  }

  getTeam(name: string): Promise<Team> {
    return this.request('GET', `/api/teams/${encodeURIComponent(name)}`);
  }

  /** Stores a new encrypted version at `<env>/<service>/<KEY>`; the server checks the path. */
  setSecret(path: string, value: string): Promise<SecretMeta> {
    return this.request('PUT', secretUrl(path), { body: { value } });
  }

  /** The value (audited); production needs an active access grant. */
  getSecret(path: string, version?: number): Promise<SecretValue> {
    return this.request('GET', secretUrl(path), { query: { version } });
  }

  /** Names, versions and who changed them; never values. */
  listSecrets(filter: SecretFilter = {}): Promise<SecretList> {
    return this.request('GET', '/api/secrets', { query: { ...filter } });
  }

  deleteSecret(path: string): Promise<SecretMeta> {
    return this.request('DELETE', secretUrl(path));
  }

  secretVersions(path: string): Promise<SecretVersionList> {
    return this.request('GET', `${secretUrl(path)}/versions`);
  }

  /** A token for the Vault-compatible endpoint, for one environment and service. */
  createWorkloadToken(req: { env: string; service: string; ttl?: string }): Promise<WorkloadToken> {
    return this.request('POST', '/api/secrets/tokens', { body: req });
  }

  /** Workload tokens you made (platform admins: all); never the tokens themselves. */
  listWorkloadTokens(filter: SecretFilter = {}): Promise<WorkloadTokenList> {
    return this.request('GET', '/api/secrets/tokens', { query: { ...filter } });
  }

  /** Revokes a workload token (its creator or a platform admin); Vault reads with it fail from now on. */
  revokeWorkloadToken(id: string): Promise<WorkloadTokenInfo> {
    return this.request('DELETE', `/api/secrets/tokens/${encodeURIComponent(id)}`);
  }

  requestAccess(req: { secret: string; reason: string; duration?: string }): Promise<AccessRequest> {
    return this.request('POST', '/api/access/requests', { body: req });
  }

  listAccessRequests(filter: AccessFilter = {}): Promise<AccessRequestList> {
    const flag = (v: boolean | undefined) => (v ? 'true' : undefined);
    return this.request('GET', '/api/access/requests', { query: { pending: flag(filter.pending), mine: flag(filter.mine), toReview: flag(filter.toReview), limit: filter.limit } });
  }

  getAccessRequest(id: string): Promise<AccessRequest> {
    return this.request('GET', `/api/access/requests/${encodeURIComponent(id)}`);
  }

  approveAccess(id: string, opts: { duration?: string; reason?: string } = {}): Promise<AccessRequest> {
    return this.request('POST', `/api/access/requests/${encodeURIComponent(id)}/approve`, { body: opts });
  }

  denyAccess(id: string, reason: string): Promise<AccessRequest> {
    return this.request('POST', `/api/access/requests/${encodeURIComponent(id)}/deny`, { body: { reason } });
  }

  revokeAccess(id: string, reason?: string): Promise<AccessRequest> {
    return this.request('POST', `/api/access/requests/${encodeURIComponent(id)}/revoke`, { body: reason ? { reason } : {} });
  }

  accessStats(since?: string): Promise<AccessStats> {
    return this.request('GET', '/api/access/stats', { query: { since } });
  }

  /** Answers 202 at once with status `provisioning`; the server keeps working in the background. */
  createEnvironment(req: CreateEnvironmentRequest): Promise<Environment> {
    return this.request('POST', '/api/environments', { body: req });
  }

  listEnvironments(filter: EnvironmentFilter = {}): Promise<EnvironmentList> {
    const includeDeleted = filter.includeDeleted === undefined ? undefined : String(filter.includeDeleted);
    return this.request('GET', '/api/environments', { query: { scope: filter.scope, includeDeleted } });
  }

  /** The live environment; once a delete has finished, its last record (status `deleted`). */
  getEnvironment(name: string): Promise<Environment> {
    return this.request('GET', environmentUrl(name));
  }

  /** The new lifetime counts from now. */
  extendEnvironment(name: string, ttl: string): Promise<Environment> {
    return this.request('POST', `${environmentUrl(name)}/extend`, { body: { ttl } });
  }

  /** Answers 202 at once with status `deleting`. */
  deleteEnvironment(name: string): Promise<Environment> {
    return this.request('DELETE', environmentUrl(name));
  }

  /** The connection variables, passwords included (audited). */
  connectEnvironment(name: string): Promise<EnvironmentConnection> {
    return this.request('POST', `${environmentUrl(name)}/connect`);
  }

  /**
   * Reads the environment every `intervalMs` until `until` holds and resolves with that read.
   * API errors end the watch at once; an unreachable control plane is retried for a while,
   * because a restarting server resumes the work where it stopped.
   */
  async watchEnvironment(name: string, opts: WatchEnvironmentOptions): Promise<Environment> {
    const intervalMs = opts.intervalMs ?? 250;
    const graceMs = opts.unreachableGraceMs ?? 30_000;
    let unreachableSince: number | undefined;
    for (;;) {
      opts.signal?.throwIfAborted();
      let env: Environment | undefined;
      try {
        env = await this.getEnvironment(name);
        unreachableSince = undefined;
      } catch (err) {
        if (!(err instanceof IdpError && err.code === 'SERVER_UNREACHABLE')) throw err;
        unreachableSince ??= Date.now();
        if (Date.now() - unreachableSince >= graceMs) throw err;
      }
      if (env) {
        opts.onUpdate?.(env);
        if (opts.until(env)) return env;
      }
      await sleep(intervalMs, opts.signal);
    }
  }

  /**
   * Uploads a `git archive --format=tar` of the service directory at `commit`; the server builds
   * it into an immutable release (the same bytes give back the release made before). With `env`,
   * the server first checks that the caller may deploy there, before it reads the archive.
   */
  uploadRelease(service: string, commit: string, tar: Uint8Array, env?: string): Promise<Release> {
    return this.request('POST', '/api/releases', {
      query: { service, commit, env },
      rawBody: { data: tar, contentType: 'application/x-tar' },
      timeoutMs: Math.max(this.#timeoutMs, RELEASE_UPLOAD_TIMEOUT_MS),
    });
  }

  /** Answers 202 at once; the rollout runs on the server (follow it with getDeployment). */
  createDeployment(req: CreateDeploymentRequest): Promise<Deployment> {
    return this.request('POST', '/api/deployments', { body: req });
  }

  /** Newest first. */
  listDeployments(filter: DeploymentFilter = {}): Promise<DeploymentListResult> {
    return this.request('GET', '/api/deployments', { query: { service: filter.service, env: filter.env, limit: filter.limit } });
  }

  getDeployment(id: string): Promise<Deployment> {
    return this.request('GET', deploymentUrl(id));
  }

  /** Ends the current pause: the rollout moves to its next step. */
  promoteDeployment(id: string): Promise<Deployment> {
    return this.request('POST', `${deploymentUrl(id)}/promote`);
  }

  /** Sends all traffic back to the stable release and stops the new one. */
  abortDeployment(id: string): Promise<Deployment> {
    return this.request('POST', `${deploymentUrl(id)}/abort`);
  }

  /** Answers 202 at once with the deployment that returns to the earlier version. */
  rollback(req: RollbackRequest): Promise<Deployment> {
    return this.request('POST', '/api/deployments/rollback', { body: req });
  }

  /**
   * Reads the deployment every `intervalMs` until `until` holds and resolves with that read.
   * API errors end the watch at once; an unreachable control plane is retried for a while,
   * because a restarted server resumes (or safely aborts) the rollout.
   */
  async watchDeployment(id: string, opts: WatchDeploymentOptions): Promise<Deployment> {
    const intervalMs = opts.intervalMs ?? 500;
    const graceMs = opts.unreachableGraceMs ?? 30_000;
    let unreachableSince: number | undefined;
    for (;;) {
      opts.signal?.throwIfAborted();
      let deployment: Deployment | undefined;
      try {
        deployment = await this.getDeployment(id);
        unreachableSince = undefined;
      } catch (err) {
        if (!(err instanceof IdpError && err.code === 'SERVER_UNREACHABLE')) throw err;
        unreachableSince ??= Date.now();
        if (Date.now() - unreachableSince >= graceMs) throw err;
      }
      if (deployment) {
        opts.onUpdate?.(deployment);
        if (opts.until(deployment)) return deployment;
      }
      await sleep(intervalMs, opts.signal);
    }
  }

  /**
   * One call to the API. `path` is relative to the base URL and must start with "/"; query
   * values that are undefined or null are left out. Resolves with the parsed JSON body of a
   * 2xx answer (undefined when it has none) and rejects with an IdpError otherwise.
   */
  async request<T>(method: HttpMethod, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.#send(method, path, opts);
    return this.#unwrap<T>(method, path, res);
  }

  async #send(method: HttpMethod, path: string, opts: RequestOptions): Promise<RawResponse> {
    const target = this.#urlFor(path, opts.query);
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    let payload: string | Uint8Array | undefined;
    if (opts.rawBody !== undefined) {
      headers['content-type'] = opts.rawBody.contentType;
      payload = opts.rawBody.data;
    } else if (opts.body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(opts.body);
    }
    const timeoutMs = opts.timeoutMs ?? this.#timeoutMs;

    let response: Response;
    let text: string;
    try {
      response = await this.#fetch(target, {
        method,
        headers,
        body: payload,
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (err) {
      throw this.#unreachable(err, timeoutMs);
    }

    return {
      status: response.status,
      body: parseJson(text),
      requestId: response.headers.get('x-request-id') ?? undefined,
    };
  }

  #unwrap<T>(method: HttpMethod, path: string, res: RawResponse): T {
    if (res.status >= 200 && res.status < 300) {
      if (res.body instanceof InvalidJson) {
        throw new IdpError('INTERNAL', `${method} ${path} answered HTTP ${res.status} with a body that is not JSON`, {
          status: res.status,
          ...(res.requestId ? { requestId: res.requestId } : {}),
        });
      }
      return res.body as T;
    }
    throw errorFromResponse(method, path, res);
  }

  #urlFor(path: string, query: RequestOptions['query']): string {
    if (!path.startsWith('/')) {
      throw new TypeError(`IdpClient.request: path must start with "/" (got "${path}")`);
    }
    const target = new URL(this.url + path);
    for (const [key, value] of Object.entries(query ?? {})) {
      if (value !== undefined && value !== null) target.searchParams.set(key, String(value));
    }
    return target.toString();
  }

  #unreachable(err: unknown, timeoutMs = this.#timeoutMs): IdpError {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    const cause = timedOut ? `no answer within ${Math.round(timeoutMs / 1000)}s` : describeNetworkError(err);
    return new IdpError('SERVER_UNREACHABLE', `cannot reach the control plane at ${this.url} (${cause})`, {
      url: this.url,
      hint: ERROR_CODES.SERVER_UNREACHABLE.hint,
    });
  }
}

/**
 * `<env>/<service>/<KEY>` → its API URL; the server checks each part. A path that is not three
 * parts is refused here: URL resolution would turn `..` parts into another API route.
 */
function secretUrl(path: string): string {
  const parts = path.split('/');
  if (parts.length !== 3 || parts.some((p) => p === '' || p === '.' || p === '..')) {
    throw new IdpError('SECRET_PATH_INVALID', `"${path.slice(0, 200)}" is not a secret path: it must be three non-empty parts separated by "/"`, {
      field: 'path',
      hint: ERROR_CODES.SECRET_PATH_INVALID.hint,
    });
  }
  return `/api/secrets/${parts.map(encodeURIComponent).join('/')}`;
}

/** Names are checked by the server; encoding keeps any name inside its own route. */
function environmentUrl(name: string): string {
  if (name === '' || name === '.' || name === '..') {
    throw new IdpError('INVALID_NAME', `"${name}" is not an environment name`, { field: 'name', hint: ERROR_CODES.INVALID_NAME.hint });
  }
  return `/api/environments/${encodeURIComponent(name)}`;
}

/** Ids are checked by the server; encoding keeps any id inside its own route. */
function deploymentUrl(id: string): string {
  if (id === '' || id === '.' || id === '..') {
    throw new IdpError('USAGE', `"${id}" is not a deployment id`, { field: 'id', hint: 'Run `idp deploy:history --service S --env E` to see deployment ids.' });
  }
  return `/api/deployments/${encodeURIComponent(id)}`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

class InvalidJson {
  constructor(readonly text: string) {}
}

function parseJson(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return new InvalidJson(text);
  }
}

function errorFromResponse(method: HttpMethod, path: string, res: RawResponse): IdpError {
  const envelope = asEnvelope(res.body);
  const requestId = envelope?.requestId ?? res.requestId;
  const idDetail = requestId ? { requestId } : {};
  if (!envelope) {
    return new IdpError('INTERNAL', `${method} ${path} failed with HTTP ${res.status} and no idp error body`, {
      status: res.status,
      ...idDetail,
      hint: 'Check that the URL points at the idp control plane and not at a proxy or another service.',
    });
  }
  if (!isErrorCode(envelope.code)) {
    // A server newer than this client may use a code we do not know; keep it visible.
    return new IdpError('INTERNAL', `${envelope.code}: ${envelope.message}`, {
      ...envelope.details,
      status: res.status,
      serverCode: envelope.code,
      ...idDetail,
      hint: typeof envelope.details.hint === 'string' ? envelope.details.hint : 'Upgrade the idp CLI to match the control plane.',
    });
  }
  return new IdpError(envelope.code, envelope.message, { ...envelope.details, ...idDetail });
}

interface EnvelopeError {
  code: string;
  message: string;
  details: Record<string, unknown>;
  requestId?: string;
}

function asEnvelope(body: unknown): EnvelopeError | undefined {
  if (!isRecord(body) || !isRecord(body.error)) return undefined;
  const { code, message, details, requestId } = body.error;
  if (typeof code !== 'string' || typeof message !== 'string') return undefined;
  return {
    code,
    message,
    details: isRecord(details) ? details : {},
    ...(typeof requestId === 'string' ? { requestId } : {}),
  };
}

function isReadinessBody(body: unknown): body is ReadinessStatus {
  return isRecord(body) && typeof body.status === 'string' && isRecord(body.checks);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** undici reports every network failure as "fetch failed"; the useful part is in `cause`. */
function describeNetworkError(err: unknown): string {
  let current: unknown = err;
  let innermost = err instanceof Error ? err.message : String(err);
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === 'string') return code;
    innermost = current.message;
    current = current.cause;
  }
  return innermost;
}

// Checked up front: fetch would reject such a header with a TypeError indistinguishable from
// a network failure, and the user would chase a server that is fine.
function checkedToken(token: string): string {
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new IdpError('TOKEN_INVALID', 'the API token contains spaces or characters that cannot be sent in an HTTP header', {
      field: 'token',
      hint: 'Copy the token again exactly as `idp token:create` printed it.',
    });
  }
  return token;
}

function normalizeBaseUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw invalidUrl(url);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw invalidUrl(url);
  // The base may carry a path prefix (behind a reverse proxy); API paths are appended to it.
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`;
}

function invalidUrl(url: string): IdpError {
  return new IdpError('USAGE', `"${url}" is not an http(s) URL of the control plane`, {
    field: 'url',
    hint: 'Use a full URL such as http://localhost:7070 (IDP_URL or `idp login --url`).',
  });
}
