/** A call GitHub refused or that did not reach it; `retryable` says whether trying later may help. */
export class GithubApiError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly retryable: boolean,
  ) {
    super(message);
    this.name = 'GithubApiError';
  }
}

/** Why a request got no answer; a redirect is refused so the credential never goes to another URL. */
export function failedFetch(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return 'timed out';
  const cause = err instanceof Error ? (err.cause as { message?: unknown } | undefined) : undefined;
  if (typeof cause?.message === 'string' && /redirect/i.test(cause.message)) {
    return 'GitHub answered with a redirect, which is not followed (check previews.github.apiUrl)';
  }
  return 'could not connect';
}
