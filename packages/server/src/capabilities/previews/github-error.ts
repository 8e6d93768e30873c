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
