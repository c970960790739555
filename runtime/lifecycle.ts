/**
 * Process lifecycle: run a main function, and on SIGINT/SIGTERM run the shutdown
 * steps it registered (in reverse order: stop taking work, let in-flight work
 * finish, close connections), with a hard limit after which the process exits.
 */
import type { Logger } from './logger';

export type ShutdownStep = { name: string; run: () => Promise<void> | void };

export class Lifecycle {
  private readonly steps: ShutdownStep[] = [];
  private stopping: Promise<void> | null = null;

  constructor(private readonly logger: Logger, private readonly timeoutMs: number) {}

  /** Registers a step; steps run last-registered first. */
  onShutdown(name: string, run: ShutdownStep['run']): void {
    this.steps.push({ name, run });
  }

  get isStopping(): boolean {
    return this.stopping !== null;
  }

  shutdown(reason: string): Promise<void> {
    if (this.stopping) return this.stopping;
    this.logger.info({ reason }, 'shutting down');
    const timer = setTimeout(() => {
      this.logger.error({ timeoutMs: this.timeoutMs }, 'shutdown took too long; exiting');
      process.exit(1);
    }, this.timeoutMs);
    timer.unref();
    this.stopping = (async () => {
      for (const step of [...this.steps].reverse()) {
        try {
          await step.run();
          this.logger.debug({ step: step.name }, 'shutdown step done');
        } catch (err) {
          this.logger.error({ err, step: step.name }, 'shutdown step failed');
        }
      }
      clearTimeout(timer);
    })();
    return this.stopping;
  }

  /** Shuts down on SIGINT/SIGTERM; a second signal exits at once. */
  handleSignals(): void {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        if (this.stopping) {
          this.logger.warn({ signal }, 'second signal: exiting now');
          process.exit(130);
        }
        void this.shutdown(signal).then(() => process.exit(0));
      });
    }
  }
}

/** Runs a process's main function; a failure at boot is logged and exits non-zero. */
export function runMain(logger: Logger, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    logger.fatal({ err }, 'process failed');
    process.exit(1);
  });
}
