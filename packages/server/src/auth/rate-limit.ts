/**
 * Token buckets keyed by client: each holds up to `burst` tokens and refills at `perMinute`
 * a minute. In memory and per process: a flood is an attack on this process, and nothing here
 * needs to survive a restart. Keys are bounded: past `maxKeys` distinct clients, newcomers
 * share one overflow bucket, so rotating source addresses cannot grow the map without end.
 */
export interface BucketSettings {
  perMinute: number;
  burst: number;
}

export type Take = { ok: true } | { ok: false; retryAfterSeconds: number };

export const OVERFLOW_KEY = '*';

export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly perMs: number;

  constructor(
    private readonly settings: BucketSettings,
    /** Monotonic milliseconds (not the injectable wall clock: tests move that by hours). */
    private readonly nowMs: () => number = () => performance.now(),
    private readonly maxKeys = 10_000,
  ) {
    this.perMs = settings.perMinute / 60_000;
  }

  take(key: string): Take {
    const now = this.nowMs();
    let k = key;
    if (!this.buckets.has(k) && this.buckets.size >= this.maxKeys) {
      this.sweep();
      if (this.buckets.size >= this.maxKeys) k = OVERFLOW_KEY;
    }
    const b = this.buckets.get(k) ?? { tokens: this.settings.burst, at: now };
    b.tokens = Math.min(this.settings.burst, b.tokens + (now - b.at) * this.perMs);
    b.at = now;
    this.buckets.set(k, b);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return { ok: true };
    }
    return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - b.tokens) / this.perMs / 1000)) };
  }

  /** Forgets buckets that are full again: they hold nothing a new bucket would not. */
  sweep(): void {
    const now = this.nowMs();
    for (const [k, b] of this.buckets) {
      if (b.tokens + (now - b.at) * this.perMs >= this.settings.burst) this.buckets.delete(k);
    }
  }

  get size(): number {
    return this.buckets.size;
  }
}

/**
 * The key a client is limited by: its address as the socket gives it (Fastify's trustProxy is
 * off, so X-Forwarded-For cannot pick someone else's bucket), IPv4-mapped IPv6 unwrapped, and
 * IPv6 by its /64, which one host typically owns whole.
 */
export function clientKey(ip: string | undefined): string {
  if (!ip) return 'unknown';
  const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (v4) return v4[1]!;
  if (!ip.includes(':')) return ip;
  const [head] = ip.split('%');
  const halves = head!.split('::');
  const left = halves[0] ? halves[0].split(':') : [];
  const right = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const groups =
    halves.length > 1 ? [...left, ...Array(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => (g || '0').toLowerCase().replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}
