/** A Slack-compatible incoming-webhook message: `text` is the fallback, `blocks` the layout. */
export interface WebhookMessage {
  text: string;
  blocks?: unknown[];
}

export interface NotifierOptions {
  /** Attempts in all, the first included. */
  attempts?: number;
  /** Delay before the second attempt; doubles each time. */
  baseDelayMs?: number;
  timeoutMs?: number;
  fetch?: typeof fetch;
}

/**
 * Posts notifications to the configured webhook without ever making a request wait for it:
 * `notify` returns at once, retries with exponential backoff on network errors, 429 and 5xx, and
 * logs a failure instead of failing anything. `close` cancels what is still in flight.
 */
export class WebhookNotifier {
  private readonly inflight = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly attempts: number;
  private readonly baseDelayMs: number;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;

  constructor(
    private readonly url: string | undefined,
    private readonly log: (line: string) => void,
    opts: NotifierOptions = {},
  ) {
    this.attempts = opts.attempts ?? 4;
    this.baseDelayMs = opts.baseDelayMs ?? 500;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.fetch = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
  }

  get enabled(): boolean {
    return this.url !== undefined;
  }

  /** Where messages go, without the path: Slack webhook URLs are secrets themselves. */
  get target(): string {
    if (!this.url) return 'none';
    try {
      return new URL(this.url).origin;
    } catch {
      return '(unparseable url)';
    }
  }

  notify(message: WebhookMessage): void {
    if (!this.url || this.abort.signal.aborted) return;
    const p = this.deliver(this.url, message).finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  /** Resolves once every notification sent so far has been delivered or given up on. */
  async idle(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.idle();
  }

  private async deliver(url: string, message: WebhookMessage): Promise<void> {
    const body = JSON.stringify(message);
    let last = '';
    for (let attempt = 1; attempt <= this.attempts; attempt++) {
      if (this.abort.signal.aborted) return;
      try {
        const res = await this.fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body,
          signal: AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.timeoutMs)]),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return;
        last = `HTTP ${res.status}`;
        if (res.status < 500 && res.status !== 429) break;
      } catch (err) {
        if (this.abort.signal.aborted) return;
        last = (err as Error).name === 'TimeoutError' ? `no answer within ${this.timeoutMs} ms` : describe(err);
      }
      if (attempt < this.attempts) await this.sleep(this.baseDelayMs * 2 ** (attempt - 1));
    }
    this.log(
      `warning: access webhook ${this.target}: notification not delivered (${last}); the request itself is unaffected`,
    );
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      timer.unref();
      const signal = this.abort.signal;
      function done() {
        signal.removeEventListener('abort', done);
        clearTimeout(timer);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

function describe(err: unknown): string {
  let current: unknown = err;
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = (current as Error & { code?: unknown }).code;
    if (typeof code === 'string') return code;
    current = current.cause;
  }
  return err instanceof Error ? err.message : String(err);
}
