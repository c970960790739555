/**
 * How every long-running process starts: typed config, JSON logs and graceful
 * shutdown on SIGINT/SIGTERM. Each process's main.ts opens what it needs (database,
 * NATS, Temporal) with the open* helpers, which register their own shutdown steps.
 */
import { loadConfig, type AppConfig } from '../config';
import { Lifecycle, runMain } from './lifecycle';
import { createLogger, type Logger } from './logger';

export interface ProcessContext {
  config: AppConfig;
  logger: Logger;
  lifecycle: Lifecycle;
}

export function runProcess(name: string, main: (ctx: ProcessContext) => Promise<void>): void {
  const config = loadConfig();
  const logger = createLogger(name, config.LOG_LEVEL);
  runMain(logger, async () => {
    const lifecycle = new Lifecycle(logger, config.SHUTDOWN_TIMEOUT_MS);
    lifecycle.handleSignals();
    await main({ config, logger, lifecycle });
  });
}
