/**
 * The background loop the relay, the fill dispatcher and webhook delivery share: a
 * round of work runs when kicked (a notification, a new tick) or on an interval (the
 * fallback), never two at once; a kick during a round makes one more round after it,
 * so nothing kicked is missed and kicks coalesce.
 */
export class Pump {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly round: () => Promise<void>,
    private readonly onError: (err: unknown) => void,
  ) {}

  get isStopped(): boolean {
    return this.stopped;
  }

  start(intervalMs: number): void {
    this.stopped = false;
    this.timer = setInterval(() => this.kick(), intervalMs);
    this.kick();
  }

  /** Asks for a round soon. */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.round()
      .catch(this.onError)
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** Stops kicking and waits for the round in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.running;
  }
}

/**
 * A background service that works in batches: each round runs batches until one
 * says nothing more is waiting, on a kick or on the polling interval. The fill
 * dispatcher and webhook delivery are such loops.
 */
export abstract class BatchLoop {
  protected readonly pump: Pump;

  constructor(
    private readonly intervalMs: number,
    onError: (err: unknown) => void,
  ) {
    this.pump = new Pump(() => this.drain(), onError);
  }

  /** One batch; true when a full batch was taken (more may be waiting right now). */
  protected abstract runBatch(): Promise<boolean>;

  async start(): Promise<void> {
    this.pump.start(this.intervalMs);
  }

  /** Asks for a round soon (coalesces with one already running). */
  kick(): void {
    this.pump.kick();
  }

  /** Runs batches until nothing due is left. Resolves when done (tests await it). */
  async drain(): Promise<void> {
    while (!this.pump.isStopped && (await this.runBatch()));
  }

  async stop(): Promise<void> {
    await this.pump.stop();
  }
}

/** Runs fn for every item, at most `concurrency` at a time. */
export async function forEachConcurrently<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(concurrency, queue.length) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
    }),
  );
}
