import { IdpError } from '@idp/contracts';

/** How a watch follows one resource; `T` is what each read returns. */
export interface WatchOptions<T> {
  /** Stop polling once this holds for the read just made; the watch resolves with it. */
  until: (value: T) => boolean;
  /** Between two reads; each watch has its own default. */
  intervalMs?: number;
  /** Called with every read, the last one (for which `until` holds) included. */
  onUpdate?: (value: T) => void;
  /**
   * How long the control plane may stay unreachable (e.g. while it restarts and resumes the
   * work) before the watch gives up with SERVER_UNREACHABLE; default 30 s.
   */
  unreachableGraceMs?: number;
  signal?: AbortSignal;
}

const DEFAULT_UNREACHABLE_GRACE_MS = 30_000;

/**
 * Calls `read` every `intervalMs` until `until` holds and resolves with that read. API errors
 * end the watch at once; an unreachable control plane is retried for a while, because a
 * restarting server resumes its background work (provisioning, rollouts) where it stopped.
 */
export async function watch<T>(read: () => Promise<T>, opts: WatchOptions<T>, defaultIntervalMs: number): Promise<T> {
  const intervalMs = opts.intervalMs ?? defaultIntervalMs;
  const graceMs = opts.unreachableGraceMs ?? DEFAULT_UNREACHABLE_GRACE_MS;
  let unreachableSince: number | undefined;
  for (;;) {
    opts.signal?.throwIfAborted();
    let value: { read: T } | undefined;
    try {
      value = { read: await read() };
      unreachableSince = undefined;
    } catch (err) {
      if (!(err instanceof IdpError && err.code === 'SERVER_UNREACHABLE')) throw err;
      unreachableSince ??= Date.now();
      if (Date.now() - unreachableSince >= graceMs) throw err;
    }
    if (value) {
      opts.onUpdate?.(value.read);
      if (opts.until(value.read)) return value.read;
    }
    await sleep(intervalMs, opts.signal);
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    // An abort listener added after the abort never fires: the wait would run its full length.
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
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
