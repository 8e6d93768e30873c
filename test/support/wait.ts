// Waiting in tests: poll for the observable effect (vi.waitFor underneath) instead of sleeping a
// fixed time and hoping it was long enough. Timeouts are generous: the machine is slow and shared,
// and a wait that succeeds returns as soon as the effect is there, so a long timeout costs nothing.
import { vi } from 'vitest';

export interface WaitOptions {
  /** How long before giving up, in ms (default 60 s). */
  timeout?: number;
  /** Between two checks, in ms (default 100). */
  interval?: number;
}

/** Thrown by a check to stop waiting at once: what it saw can no longer become what is awaited. */
export class GiveUp extends Error {}

type NotYet = undefined | null | false;

/**
 * Calls `check` every `interval` ms until it returns something other than undefined, null or
 * false, and returns that. A check may throw to say why it is not there yet (the last reason is in
 * the timeout's message), or throw GiveUp to fail at once.
 */
export async function waitUntil<T>(
  what: string,
  check: () => T | NotYet | Promise<T | NotYet>,
  opts: WaitOptions = {},
): Promise<T> {
  const { timeout = 60_000, interval = 100 } = opts;
  const outcome = await vi
    .waitFor(
      async (): Promise<{ value: T } | { gaveUp: GiveUp }> => {
        try {
          const value = await check();
          if (value === undefined || value === null || value === false) throw new Error('not yet');
          return { value };
        } catch (err) {
          if (err instanceof GiveUp) return { gaveUp: err };
          throw err;
        }
      },
      { timeout, interval },
    )
    .catch((err: unknown) => {
      throw new Error(`timed out after ${timeout} ms waiting for ${what}: ${(err as Error).message ?? String(err)}`, {
        cause: err,
      });
    });
  if ('gaveUp' in outcome) throw outcome.gaveUp;
  return outcome.value;
}

/**
 * For what must NOT happen for a while (a canary step that waits for a promote, no callback after
 * stop): runs `check` every `interval` ms for `ms` ms, failing at the first check that throws. The
 * one fixed wait the tests allow, because time passing without a change is the behaviour tested.
 */
export async function holdsFor(ms: number, check: () => unknown, interval = 50): Promise<void> {
  const until = Date.now() + ms;
  for (;;) {
    await check();
    const left = until - Date.now();
    if (left <= 0) return;
    await new Promise((r) => setTimeout(r, Math.min(interval, left)));
  }
}
