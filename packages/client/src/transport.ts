import { ERROR_CODES, IdpError, isErrorCode, isRecord } from '@idp/contracts';

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

/** A 2xx or error answer as received, before it is unwrapped. */
export interface RawResponse {
  status: number;
  body: unknown;
  requestId: string | undefined;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/**
 * HTTP to the control plane: the base URL, the bearer token, timeouts, JSON and raw bodies.
 * Every failure surfaces as an IdpError: the server's own error envelope is turned back into
 * the IdpError it was made from, so the CLI and portal render server errors exactly like local
 * ones. The capability modules build on `request`; they know routes, not HTTP.
 */
export class Transport {
  readonly url: string;
  readonly timeoutMs: number;
  readonly #token: string | undefined;
  readonly #fetch: typeof fetch;

  constructor(opts: IdpClientOptions) {
    this.url = normalizeBaseUrl(opts.url);
    this.#token = opts.token ? checkedToken(opts.token) : undefined;
    // Bound lazily so a fetch stubbed after construction (or a polyfill) is still picked up.
    this.#fetch = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  }

  get hasToken(): boolean {
    return this.#token !== undefined;
  }

  /**
   * One call to the API. `path` is relative to the base URL and must start with "/"; query
   * values that are undefined or null are left out. Resolves with the parsed JSON body of a
   * 2xx answer (undefined when it has none) and rejects with an IdpError otherwise.
   */
  async request<T>(method: HttpMethod, path: string, opts: RequestOptions = {}): Promise<T> {
    const res = await this.send(method, path, opts);
    return this.unwrap<T>(method, path, res);
  }

  /** The answer whatever its status; only an unreachable server rejects. */
  async send(method: HttpMethod, path: string, opts: RequestOptions = {}): Promise<RawResponse> {
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
    const timeoutMs = opts.timeoutMs ?? this.timeoutMs;

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

  /**
   * A streaming GET (server-sent events): the Response of a 2xx answer with its body unread,
   * until `signal` aborts; any other answer as the IdpError it carries. No timeout: a stream
   * lasts as long as its reader wants.
   */
  async stream(path: string, query: RequestOptions['query'], signal: AbortSignal): Promise<Response> {
    const headers: Record<string, string> = { accept: 'text/event-stream' };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    let response: Response;
    try {
      response = await this.#fetch(this.#urlFor(path, query), { method: 'GET', headers, signal });
    } catch (err) {
      throw this.#unreachable(err, this.timeoutMs);
    }
    if (response.ok) return response;
    const text = await response.text().catch(() => '');
    throw errorFromResponse('GET', path, {
      status: response.status,
      body: parseJson(text),
      requestId: response.headers.get('x-request-id') ?? undefined,
    });
  }

  /** The JSON body of a 2xx answer; any other answer as the IdpError it carries. */
  unwrap<T>(method: HttpMethod, path: string, res: RawResponse): T {
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

  #unreachable(err: unknown, timeoutMs: number): IdpError {
    const timedOut = err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
    const cause = timedOut ? `no answer within ${Math.round(timeoutMs / 1000)}s` : describeNetworkError(err);
    return new IdpError('SERVER_UNREACHABLE', `cannot reach the control plane at ${this.url} (${cause})`, {
      url: this.url,
      hint: ERROR_CODES.SERVER_UNREACHABLE.hint,
    });
  }
}

/**
 * `prefix/<id>` with the id encoded, so any id stays inside its own route; the empty id and the
 * dot segments (which URL resolution would turn into another route) are refused here with `error`.
 */
export function idUrl(prefix: string, id: string, error: () => IdpError): string {
  if (id === '' || id === '.' || id === '..') throw error();
  return `${prefix}/${encodeURIComponent(id)}`;
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
      hint:
        typeof envelope.details.hint === 'string'
          ? envelope.details.hint
          : 'Upgrade the idp CLI to match the control plane.',
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
    throw new IdpError(
      'TOKEN_INVALID',
      'the API token contains spaces or characters that cannot be sent in an HTTP header',
      {
        field: 'token',
        hint: 'Copy the token again exactly as `idp token:create` printed it.',
      },
    );
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
