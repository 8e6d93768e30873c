import { createPrivateKey } from 'node:crypto';
import { createAppAuth } from '@octokit/auth-app';
import { request as octokitRequest } from '@octokit/request';
import { failedFetch, GithubApiError } from './github-error.ts';

/**
 * The credential GitHub calls are made with: a fixed token, or a GitHub App's installation access
 * token. The App's part uses @octokit/auth-app (the JWT signed RS256 with the App's key, iss = the
 * App, iat 60 s in the past, expiring 9 minutes from now; exchanged for an installation token),
 * with its requests sent to the configured API URL only (no redirects followed) and its tokens
 * kept in memory until a minute before they expire. Nothing here puts the key, the JWT or a token
 * into an error message or a log line.
 */
export interface GithubCredentials {
  /** The Authorization header value for a call about `repo` (owner/name). */
  authorization(repo: string): Promise<string>;
  /** GitHub refused the credential given for `repo`: forget it. true when a new one may be tried. */
  refused(repo: string): boolean;
}

export function tokenCredentials(token: string): GithubCredentials {
  return { authorization: () => Promise.resolve(`Bearer ${token}`), refused: () => false };
}

export interface GithubAppOptions {
  apiUrl: string;
  appId: number | string;
  privateKey: string;
  /** Unset: looked up per repository (GET /repos/{owner}/{repo}/installation), then kept. */
  installationId?: number;
  timeoutMs?: number;
  /** An installation token is used until this long before its expires_at (default one minute). */
  refreshBeforeMs?: number;
  now?: () => number;
}

const TIMEOUT_MS = 10_000;
const REFRESH_BEFORE_MS = 60_000;
/** With the library's own 30 s margin, iat is 60 s in the past and exp 9 minutes ahead. */
const CLOCK_MARGIN_S = -30;

/** The PEM is parsed once at start so a key that is not one is said at once (without the key). */
export function checkPrivateKey(pem: string): string | null {
  try {
    const key = createPrivateKey(pem.replace(/\\n/g, '\n'));
    return key.asymmetricKeyType === 'rsa' ? null : 'is not an RSA key';
  } catch {
    return 'is not a PEM private key';
  }
}

/** The installation tokens by installation id, each until `refreshBeforeMs` before it expires. */
class ExpiringTokens {
  private readonly entries = new Map<string, string>();
  constructor(
    private readonly refreshBeforeMs: number,
    private readonly now: () => number,
  ) {}

  /** '' when there is none (the library's Cache type wants a string; it treats '' as a miss). */
  get(key: string): string {
    const value = this.entries.get(key);
    // auth-app stores `token|createdAt|expiresAt|...`.
    const expiresAt = Date.parse(value?.split('|')[2] ?? '');
    if (value === undefined || !(expiresAt - this.refreshBeforeMs > this.now())) {
      this.entries.delete(key);
      return '';
    }
    return value;
  }

  set(key: string, value: string): void {
    this.entries.set(key, value);
  }

  delete(key: string): void {
    this.entries.delete(key);
  }
}

export class GithubAppCredentials implements GithubCredentials {
  private readonly auth: ReturnType<typeof createAppAuth>;
  private readonly request: typeof octokitRequest;
  private readonly tokens: ExpiringTokens;
  private readonly installations = new Map<string, number>();

  constructor(private readonly opts: GithubAppOptions) {
    const timeoutMs = opts.timeoutMs ?? TIMEOUT_MS;
    this.request = octokitRequest.defaults({
      baseUrl: opts.apiUrl.replace(/\/+$/, ''),
      headers: { 'user-agent': 'idp-previews', 'x-github-api-version': '2022-11-28' },
      request: {
        fetch: (url: string, init: RequestInit) =>
          fetch(url, { ...init, redirect: 'error', signal: AbortSignal.timeout(timeoutMs) }),
      },
    });
    this.tokens = new ExpiringTokens(opts.refreshBeforeMs ?? REFRESH_BEFORE_MS, opts.now ?? Date.now);
    this.auth = createAppAuth({
      appId: opts.appId,
      privateKey: opts.privateKey,
      request: this.request,
      cache: this.tokens,
      timeDifference: CLOCK_MARGIN_S,
      // auth-app warns only from its request hook, which is not used; nothing of its reaches a log.
      log: { warn: () => undefined },
    });
  }

  async authorization(repo: string): Promise<string> {
    const installationId = await this.installationFor(repo);
    try {
      const { token } = await this.auth({ type: 'installation', installationId });
      return `Bearer ${token}`;
    } catch (err) {
      // An installation removed (or the App installed again under a new id): look it up anew next time.
      if (statusOf(err) === 404) this.installations.delete(repo.toLowerCase());
      throw this.failure(err, `an installation token for ${repo} (installation ${installationId})`);
    }
  }

  refused(repo: string): boolean {
    const installationId = this.opts.installationId ?? this.installations.get(repo.toLowerCase());
    if (installationId !== undefined) this.tokens.delete(String(installationId));
    if (this.opts.installationId === undefined) this.installations.delete(repo.toLowerCase());
    return true;
  }

  private async installationFor(repo: string): Promise<number> {
    if (this.opts.installationId !== undefined) return this.opts.installationId;
    const known = this.installations.get(repo.toLowerCase());
    if (known !== undefined) return known;
    const [owner, name] = repo.split('/') as [string, string];
    let id: unknown;
    try {
      const { token: jwt } = await this.auth({ type: 'app' });
      const answer = await this.request('GET /repos/{owner}/{repo}/installation', {
        owner,
        repo: name,
        headers: { authorization: `Bearer ${jwt}` },
      });
      id = (answer.data as { id?: unknown }).id;
    } catch (err) {
      if (statusOf(err) === 404) {
        throw new GithubApiError(
          `GitHub App ${this.opts.appId} is not installed on ${repo} (install it on the repository or its owner)`,
          404,
          true,
        );
      }
      throw this.failure(err, `the App's installation on ${repo}`);
    }
    if (typeof id !== 'number' || !Number.isSafeInteger(id) || id <= 0) {
      throw new GithubApiError(`GitHub answered ${repo}'s installation without its id`, null, true);
    }
    this.installations.set(repo.toLowerCase(), id);
    return id;
  }

  /** A failure of the App's own calls, named without anything secret. */
  private failure(err: unknown, what: string): GithubApiError {
    const status = statusOf(err);
    const app = `GitHub App ${this.opts.appId}`;
    if (status === 401) {
      return new GithubApiError(
        `${app}: GitHub refused the App's signed token getting ${what} (401${githubMessage(err)}); check that previews.github.app.privateKey is a current key of this App and appId is its id`,
        401,
        true,
      );
    }
    // No answer at all: @octokit/request reports those as a 500 without a response.
    const answered = (err as { response?: unknown } | null)?.response !== undefined;
    if (status !== null && status > 0 && answered) {
      return new GithubApiError(
        `${app}: getting ${what}: GitHub answered ${status}${githubMessage(err)}`,
        status,
        status === 403 || status === 404 || status === 408 || status === 429 || status >= 500,
      );
    }
    if (
      status === null &&
      err instanceof Error &&
      /\[universal-github-app-jwt\]|private key|DECODER|asn1/i.test(err.message)
    ) {
      return new GithubApiError(`${app}: previews.github.app.privateKey is not a usable private key`, null, false);
    }
    const cause = status !== null && err instanceof Error ? err.cause : err;
    return new GithubApiError(`${app}: getting ${what}: ${failedFetch(cause)}`, null, true);
  }
}

function statusOf(err: unknown): number | null {
  const s = (err as { status?: unknown } | null)?.status;
  return typeof s === 'number' ? s : null;
}

/** GitHub's `message` (bounded), never the request: @octokit's error carries its headers. */
function githubMessage(err: unknown): string {
  const m = (err as { response?: { data?: { message?: unknown } } } | null)?.response?.data?.message;
  return typeof m === 'string' ? ` ${m.slice(0, 200)}` : '';
}
