/**
 * The two ways the benchmark offers load, shared by the order path and its twin so
 * both see exactly the same arrival pattern:
 *  - closed loop: `concurrency` callers, each sending its next request when the last
 *    one answered (throughput is what the system gives);
 *  - open loop: requests due at a fixed rate whatever the answers do, latency measured
 *    from when each was due, so a system that falls behind shows it in its latency
 *    instead of silently slowing the load (no coordinated omission).
 */
import type { Progress } from './progress';
import type { Sample } from './stats';

export type Load = { kind: 'closed'; concurrency: number } | { kind: 'open'; rate: number };

export function describeLoad(load: Load): string {
  return load.kind === 'closed' ? `closed loop, concurrency ${load.concurrency}` : `open loop, ${load.rate}/s`;
}

export interface LoadResult {
  samples: Sample[];
  /** From the first request due until the last answer. */
  elapsedMs: number;
  failures: number;
  /** The first few failures, for the report. */
  failureMessages: string[];
  maxInFlight: number;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Runs `task(i)` for i in 0..count-1 under `load`. A task that throws is a failure
 * (counted, not measured); the run goes on.
 */
export async function drive(
  count: number,
  load: Load,
  task: (i: number) => Promise<void>,
  progress: Progress,
  label: string,
  signal?: AbortSignal,
): Promise<LoadResult> {
  const samples: Sample[] = [];
  const failureMessages: string[] = [];
  let failures = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let done = 0;
  const t0 = performance.now();

  async function one(i: number, dueAt: number): Promise<void> {
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    try {
      await task(i);
      samples.push({ atMs: dueAt - t0, latencyMs: performance.now() - dueAt });
    } catch (err) {
      failures++;
      if (failureMessages.length < 5) failureMessages.push((err as Error).message);
    } finally {
      inFlight--;
      done++;
      progress.update(done, `in flight ${inFlight}${failures ? `  failed ${failures}` : ''}`);
    }
  }

  progress.start(label, count);
  if (load.kind === 'closed') {
    await pool(count, load.concurrency, (i) => one(i, performance.now()), signal);
  } else {
    const pending = new Set<Promise<void>>();
    const interval = 1000 / load.rate;
    for (let i = 0; i < count && !signal?.aborted; i++) {
      const dueAt = t0 + i * interval;
      const wait = dueAt - performance.now();
      if (wait > 0.5) await sleep(wait);
      const p: Promise<void> = one(i, dueAt).finally(() => pending.delete(p));
      pending.add(p);
    }
    await Promise.all(pending);
  }
  progress.finish(failures ? `${failures} failed` : '');
  return { samples, elapsedMs: performance.now() - t0, failures, failureMessages, maxInFlight };
}

/** How many times a request is tried before it counts as failed: the same for the order path and its twin. */
export const ATTEMPTS = 4;

/**
 * Calls fn until it succeeds, at most `attempts` times, waiting 250 ms, 500 ms, 1 s...
 * in between; `retryable` says which errors deserve another try.
 */
export async function withRetries<T>(fn: () => Promise<T>, retryable: (err: unknown) => boolean = () => true, attempts = ATTEMPTS): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!retryable(err) || attempt >= attempts) throw err;
      await sleep(250 * 2 ** (attempt - 1));
    }
  }
}

/** Calls fn(0..count-1) with at most `limit` calls at a time, in index order. */
async function pool(count: number, limit: number, fn: (i: number) => Promise<void>, signal?: AbortSignal): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, count) }, async () => {
      while (next < count && !signal?.aborted) await fn(next++);
    }),
  );
}

/** Runs `task` over `items` with at most `limit` at a time (setup and checks, not measured). */
export async function forEachLimited<T>(items: readonly T[], limit: number, task: (item: T, i: number) => Promise<void>, onDone?: (done: number) => void): Promise<void> {
  let done = 0;
  await pool(items.length, limit, async (i) => {
    await task(items[i], i);
    onDone?.(++done);
  });
}
