/**
 * The order worker process: polls the order task queue with the order workflow and
 * its activities. On SIGINT/SIGTERM it stops polling, lets in-flight activities
 * finish (up to the grace time), then closes connections.
 */
import { NativeConnection, Runtime } from '@temporalio/worker';
import { openDatabase } from '../../persistence/orm';
import { runProcess } from '../../runtime/process';
import { openSimulatedVenueDatabase } from '../../venue/simulated/database';
import { SimulatedVenue } from '../../venue/simulated/venue';
import { createOrderWorker, temporalLogger } from './worker';

runProcess('worker', async ({ config, logger, lifecycle }) => {
  Runtime.install({ logger: temporalLogger(logger, config.LOG_LEVEL === 'debug' ? 'DEBUG' : 'WARN'), shutdownSignals: [] });
  const orm = await openDatabase(config.DATABASE_URL, lifecycle);
  const venueOrm = await openSimulatedVenueDatabase(config.DATABASE_URL, lifecycle);
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  lifecycle.onShutdown('temporal connection', () => connection.close());

  const venue = new SimulatedVenue({ orm, venueOrm });
  const worker = await createOrderWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    maxCachedWorkflows: config.ORDER_WORKER_MAX_CACHED_WORKFLOWS,
    activities: {
      orm,
      venue,
      marketData: venue,
      tradingDayCloseUtc: config.TRADING_DAY_CLOSE_UTC,
      marketOrderCollar: config.MARKET_ORDER_COLLAR,
      submissionDeadlineMs: config.ORDER_SUBMISSION_DEADLINE_MS,
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
