/**
 * How every long-running process starts: typed config, JSON logs, graceful shutdown
 * on SIGINT/SIGTERM, and the database (refusing to run on pending migrations).
 */
import { loadConfig, type AppConfig } from '../config';
import { connectMessaging, type Messaging } from '../messaging/nats';
import { assertMigrated, initOrm, type Orm } from '../persistence/orm';
import { Lifecycle, runMain } from './lifecycle';
import { createLogger, type Logger } from './logger';

export interface ProcessContext {
  config: AppConfig;
  logger: Logger;
  lifecycle: Lifecycle;
  orm: Orm;
  /** Connects to NATS; the connection is drained at shutdown. */
  messaging(clientName: string): Promise<Messaging>;
}

export function runProcess(name: string, main: (ctx: ProcessContext) => Promise<void>): void {
  const config = loadConfig();
  const logger = createLogger(name, config.LOG_LEVEL);
  runMain(logger, async () => {
    const lifecycle = new Lifecycle(logger, config.SHUTDOWN_TIMEOUT_MS);
    lifecycle.handleSignals();
    const orm = await initOrm(config.DATABASE_URL);
    lifecycle.onShutdown('database', () => orm.close());
    await assertMigrated(orm);
    const messaging = async (clientName: string) => {
      const m = await connectMessaging(config.NATS_URL, clientName);
      lifecycle.onShutdown('nats', () => m.nc.drain());
      return m;
    };
    await main({ config, logger, lifecycle, orm, messaging });
  });
}
