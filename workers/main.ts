/**
 * Worker process: polls the order task queue. On SIGINT/SIGTERM it stops polling,
 * lets in-flight activities finish (up to the grace time), then closes connections.
 */
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { runProcess } from '../runtime/process';
import { SimulatedVenue } from '../venue/simulated-venue';
import { createOrderWorker } from './order-worker';

runProcess('worker', async ({ config, logger, lifecycle, orm }) => {
  Runtime.install({ logger: new DefaultLogger(config.LOG_LEVEL === 'debug' ? 'DEBUG' : 'WARN'), shutdownSignals: [] });
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  lifecycle.onShutdown('temporal connection', () => connection.close());

  const venue = new SimulatedVenue(orm);
  const worker = await createOrderWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    activities: {
      orm,
      venue,
      marketData: venue,
      tradingDayCloseUtc: config.TRADING_DAY_CLOSE_UTC,
      marketOrderCollar: config.MARKET_ORDER_COLLAR,
    },
    shutdownGraceTime: `${Math.max(1_000, config.SHUTDOWN_TIMEOUT_MS - 5_000)}ms`,
  });
  const running = worker.run();
  lifecycle.onShutdown('worker', async () => {
    worker.shutdown();
    await running;
  });
  logger.info({ taskQueue: config.TEMPORAL_TASK_QUEUE, temporal: config.TEMPORAL_ADDRESS }, 'worker polling');
  await running;
  if (!lifecycle.isStopping) await lifecycle.shutdown('worker stopped');
});
