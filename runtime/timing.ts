/**
 * The one place for waiting with a limit and for backing off. Everything that retries
 * (fill delivery, webhook delivery, subscribers, the process supervisor) and
 * everything that waits with a limit (order answers, health checks) uses these.
 */

/** The answer withTimeout gives when the limit ran out first. */
export const TIMED_OUT = Symbol('timed out');

/** The promise's value, or TIMED_OUT if it has not settled within `ms` (it keeps running). */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The delay before retry number `attempt` (1 = after the first failure): base,
 * 2 x base, 4 x base ... at most cap.
 */
export function backoffMs(attempt: number, baseMs: number, capMs: number): number {
  return Math.min(capMs, baseMs * 2 ** Math.min(Math.max(attempt - 1, 0), 40));
}

/**
 * A delay spread over [75 %, 100 %] of `ms` at random, so the retries of many callers
 * that failed together (a receiver that came back) do not all arrive at once.
 */
export function jittered(ms: number, random: () => number = Math.random): number {
  return Math.round(ms * (0.75 + 0.25 * random()));
}

/** Resolves after `ms`; resolves early when `signal` aborts (a stopping process does not wait). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
