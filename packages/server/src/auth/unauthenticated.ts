import { IdpError } from '@idp/contracts';
import type { AuditLog } from '../audit/index.ts';
import { PeriodicTask } from '../lifecycle/index.ts';
import { KeyedMutex } from '../util/keyed-mutex.ts';
import { clientKey, OVERFLOW_KEY, TokenBuckets, type BucketSettings } from './rate-limit.ts';

export interface UnauthenticatedSettings {
  /** Requests without a valid token a client may make per minute, sustained. */
  unauthenticatedPerMinute: number;
  /** How many it may make at once before the rate applies. */
  burst: number;
}

export const DEFAULT_UNAUTHENTICATED: UnauthenticatedSettings = { unauthenticatedPerMinute: 60, burst: 20 };

/** One client's denials in the current audit window. */
interface Window {
  startMs: number;
  from: string;
  denied: number;
  rateLimited: number;
  codes: Record<string, number>;
  tripped: boolean;
}

export interface DeniedRequest {
  ip: string | undefined;
  method: string;
  route: string;
  requestId: string;
}

/**
 * Requests with no or a bad token: limited per client (token bucket) and collapsed in the audit
 * log. A valid token never reaches here, so authenticated users are not slowed by anyone's
 * flood, even from their own address. Per client and audit window (a minute) the log gets the
 * first denial of each error code as before (UNAUTHENTICATED, TOKEN_INVALID, _EXPIRED,
 * _REVOKED: a revoked token tried once is not hidden behind a flood of bad ones), one row when
 * the limiter trips, and one summary row with the counts when the window ends (or the server
 * stops): at most six rows a minute per client, instead of one per request.
 */
export class UnauthenticatedGuard {
  private readonly buckets: TokenBuckets;
  private readonly windows = new Map<string, Window>();
  private readonly flusher: PeriodicTask;
  /** Summaries are appended one at a time, and `flush` waits for those queued. */
  private readonly appends = new KeyedMutex<'summaries'>();

  constructor(
    private readonly audit: AuditLog,
    settings: UnauthenticatedSettings = DEFAULT_UNAUTHENTICATED,
    private readonly log: (line: string) => void = () => {},
    private readonly windowMs = 60_000,
    private readonly nowMs: () => number = () => performance.now(),
    private readonly maxClients = 10_000,
  ) {
    const bucket: BucketSettings = { perMinute: settings.unauthenticatedPerMinute, burst: settings.burst };
    this.buckets = new TokenBuckets(bucket, nowMs, maxClients);
    this.flusher = new PeriodicTask({
      name: 'rate-limit audit flush',
      everyMs: Math.min(10_000, windowMs),
      run: () => this.flush(false),
      log,
    });
    this.flusher.start();
  }

  /** Records the denial (collapsed) and returns what to answer: the original error, or RATE_LIMITED. */
  async deny(req: DeniedRequest, err: IdpError): Promise<{ error: IdpError; retryAfterSeconds?: number }> {
    let client = clientKey(req.ip);
    const taken = this.buckets.take(client);
    if (!this.windows.has(client) && this.windows.size >= this.maxClients) client = OVERFLOW_KEY;
    let w = this.windows.get(client);
    const now = this.nowMs();
    if (w && now - w.startMs >= this.windowMs) {
      this.windows.delete(client);
      this.summarize(client, w);
      w = undefined;
    }
    if (!w) {
      w = { startMs: now, from: new Date().toISOString(), denied: 0, rateLimited: 0, codes: {}, tripped: false };
      this.windows.set(client, w);
    }
    // State first, synchronously: concurrent requests must not each think they are the first.
    const first = !w.codes[err.code];
    w.denied += 1;
    w.codes[err.code] = (w.codes[err.code] ?? 0) + 1;
    const trips = !taken.ok && !w.tripped;
    if (!taken.ok) {
      w.rateLimited += 1;
      w.tripped = true;
    }
    const base = { actor: 'anonymous', decision: 'deny' as const, requestId: req.requestId };
    if (first) {
      await this.audit.append({
        ...base,
        action: 'auth:authenticate',
        target: `route:${req.method} ${req.route}`,
        details: { code: err.code, client },
      });
    }
    if (taken.ok) return { error: err };
    if (trips) {
      await this.audit.append({
        ...base,
        action: 'auth:rate-limit',
        target: `client:${client}`,
        details: {
          client,
          deniedInWindow: w.denied,
          retryAfterSeconds: taken.retryAfterSeconds,
          note: 'further denials from this client are counted in one summary row when the window ends',
        },
      });
    }
    return {
      retryAfterSeconds: taken.retryAfterSeconds,
      error: new IdpError(
        'RATE_LIMITED',
        `too many requests without a valid API token from ${client}; retry in ${taken.retryAfterSeconds}s`,
        {
          retryAfterSeconds: taken.retryAfterSeconds,
          hint: 'Send a valid API token (idp login, IDP_TOKEN): requests with one are never limited here. Otherwise wait Retry-After seconds.',
        },
      ),
    };
  }

  /** Writes the summaries of ended windows (all of them when `all`, at shutdown). */
  async flush(all: boolean): Promise<void> {
    const now = this.nowMs();
    for (const [client, w] of this.windows) {
      if (all || now - w.startMs >= this.windowMs) {
        this.windows.delete(client);
        this.summarize(client, w);
      }
    }
    this.buckets.sweep();
    await this.appends.idle('summaries');
  }

  async close(): Promise<void> {
    await this.flusher.stop();
    await this.flush(true);
  }

  private summarize(client: string, w: Window): void {
    // Each code's first denial has its own row; a window with nothing more needs no summary.
    if (w.denied <= Object.keys(w.codes).length) return;
    const entry = {
      actor: 'anonymous',
      action: 'auth:authenticate',
      target: `client:${client}`,
      decision: 'deny' as const,
      requestId: null,
      details: {
        summary: true,
        client,
        from: w.from,
        to: new Date().toISOString(),
        denied: w.denied,
        rateLimited: w.rateLimited,
        codes: w.codes,
      },
    };
    void this.appends.run('summaries', async () => {
      try {
        await this.audit.append(entry);
      } catch (err) {
        this.log(
          `audit: could not write the summary of ${w.denied} denied requests from ${client}: ${(err as Error).message}`,
        );
      }
    });
  }
}
