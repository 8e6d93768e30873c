// Bounded waiting for slow work the actions start (an environment, a rollout): poll, log what
// changed, stop at the deadline or when the task is aborted.
import { IdpError } from '@idp/contracts';

export interface WaitOptions {
  timeoutMs: number;
  pollMs: number;
  signal: AbortSignal;
  /** Names the wait in the timeout error. */
  what: string;
}

export async function pollUntil<T>(
  read: () => Promise<T>,
  done: (value: T) => boolean,
  progress: (value: T) => string,
  log: (line: string) => void,
  opts: WaitOptions,
): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  let last = '';
  for (;;) {
    const value = await read();
    const line = progress(value);
    if (line !== last) {
      log(line);
      last = line;
    }
    if (done(value)) return value;
    if (opts.signal.aborted) throw opts.signal.reason instanceof Error ? opts.signal.reason : new Error('aborted');
    if (Date.now() >= deadline)
      throw new IdpError(
        'TEMPLATE_ACTION_FAILED',
        `${opts.what} did not finish within ${Math.round(opts.timeoutMs / 1000)}s (last: ${line})`,
        { timeoutMs: opts.timeoutMs },
      );
    await new Promise<void>((resolve) => {
      const t = setTimeout(done2, opts.pollMs);
      function done2(): void {
        opts.signal.removeEventListener('abort', done2);
        clearTimeout(t);
        resolve();
      }
      opts.signal.addEventListener('abort', done2, { once: true });
    });
  }
}
