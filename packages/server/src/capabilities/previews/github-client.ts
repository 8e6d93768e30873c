/**
 * The few calls idp makes to GitHub's REST API for a preview: a commit status (context
 * `idp/preview`) and the one pull-request comment, created then updated in place. The base URL
 * is configurable (GitHub Enterprise, or a recording server in tests). The credential (a token,
 * or a GitHub App's installation token) is sent only in the Authorization header, to that URL
 * only, and never appears in an error, a log line or the outbox. An App's token GitHub refuses
 * (401) is dropped and the call tried once more with a new one.
 */
import { tokenCredentials, type GithubCredentials } from './github-auth.ts';
import { failedFetch, GithubApiError } from './github-error.ts';

export { GithubApiError };

export const STATUS_CONTEXT = 'idp/preview';
const TIMEOUT_MS = 10_000;
/** GitHub refuses a status description longer than 140 characters. */
const DESCRIPTION_MAX = 140;
const REPO = /^[A-Za-z0-9_.-]{1,100}\/[A-Za-z0-9_.-]{1,100}$/;
const SHA = /^[0-9a-f]{40}$/;

export type StatusState = 'pending' | 'success' | 'failure' | 'error';

export interface CommitStatus {
  state: StatusState;
  targetUrl: string | null;
  description: string;
}

export type GithubClientOptions = { apiUrl: string; timeoutMs?: number } & (
  { token: string } | { credentials: GithubCredentials }
);

export class GithubClient {
  private readonly base: string;
  private readonly credentials: GithubCredentials;

  constructor(private readonly opts: GithubClientOptions) {
    this.base = opts.apiUrl.replace(/\/+$/, '');
    this.credentials = 'token' in opts ? tokenCredentials(opts.token) : opts.credentials;
  }

  async createStatus(repo: string, sha: string, status: CommitStatus): Promise<void> {
    if (!SHA.test(sha)) throw new GithubApiError(`not a commit SHA: ${JSON.stringify(sha)}`, null, false);
    await this.call(repo, 'POST', `${repoPath(repo)}/statuses/${sha}`, {
      state: status.state,
      context: STATUS_CONTEXT,
      description: status.description.slice(0, DESCRIPTION_MAX),
      ...(status.targetUrl ? { target_url: status.targetUrl } : {}),
    });
  }

  async createComment(repo: string, number: number, body: string): Promise<string> {
    if (!Number.isSafeInteger(number) || number <= 0) {
      throw new GithubApiError(`not a pull request number: ${number}`, null, false);
    }
    const answer = await this.call(repo, 'POST', `${repoPath(repo)}/issues/${number}/comments`, { body });
    const id = (answer as { id?: unknown } | null)?.id;
    if (typeof id !== 'number' && typeof id !== 'string') {
      throw new GithubApiError('GitHub answered a new comment without its id', null, true);
    }
    return String(id);
  }

  /** Updates the comment; false when it no longer exists (someone deleted it), so the caller makes a new one. */
  async updateComment(repo: string, commentId: string, body: string): Promise<boolean> {
    if (!/^\d{1,20}$/.test(commentId)) return false;
    try {
      await this.call(repo, 'PATCH', `${repoPath(repo)}/issues/comments/${commentId}`, { body });
      return true;
    } catch (err) {
      if (err instanceof GithubApiError && err.status === 404) return false;
      throw err;
    }
  }

  private async call(repo: string, method: string, path: string, body: unknown): Promise<unknown> {
    try {
      return await this.send(repo, method, path, body);
    } catch (err) {
      if (!(err instanceof GithubApiError) || err.status !== 401 || !this.credentials.refused(repo)) throw err;
      return await this.send(repo, method, path, body);
    }
  }

  private async send(repo: string, method: string, path: string, body: unknown): Promise<unknown> {
    const authorization = await this.credentials.authorization(repo);
    let res: Response;
    try {
      res = await fetch(`${this.base}${path}`, {
        method,
        headers: {
          accept: 'application/vnd.github+json',
          authorization,
          'content-type': 'application/json',
          'user-agent': 'idp-previews',
          'x-github-api-version': '2022-11-28',
        },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(this.opts.timeoutMs ?? TIMEOUT_MS),
        redirect: 'error',
      });
    } catch (err) {
      throw new GithubApiError(`${method} ${path}: ${failedFetch(err)}`, null, true);
    }
    const text = await res.text().catch(() => '');
    if (!res.ok) {
      throw new GithubApiError(
        `${method} ${path}: GitHub answered ${res.status} ${githubMessage(text)}`.trim(),
        res.status,
        retryableStatus(res.status),
      );
    }
    if (!text) return null;
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return null;
    }
  }
}

function repoPath(repo: string): string {
  if (!REPO.test(repo) || repo.split('/').some((p) => p === '.' || p === '..')) {
    throw new GithubApiError(`not a repository name: ${JSON.stringify(repo)}`, null, false);
  }
  const [owner, name] = repo.split('/') as [string, string];
  return `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`;
}

/** Rate limits, credentials being fixed and server errors may pass; a refused request will not. */
function retryableStatus(status: number): boolean {
  return status === 401 || status === 403 || status === 408 || status === 429 || status >= 500;
}

/** GitHub's `message`, bounded: the answer is echoed into the outbox's last error. */
function githubMessage(text: string): string {
  try {
    const m = (JSON.parse(text) as { message?: unknown }).message;
    return typeof m === 'string' ? `(${m.slice(0, 200)})` : '';
  } catch {
    return '';
  }
}
