/**
 * The order worker process: polls the order task queue with the order workflow and
 * its activities. On SIGINT/SIGTERM it stops polling, lets in-flight activities
 * finish (up to the grace time), then closes connections.
 */
import { NativeConnection, Runtime } from '@temporalio/worker';
import { openDatabase } from '../../persistence/orm';
import { BreakerReporter } from '../../persistence/breakers/repository';
import { BreakerBoard } from '../../runtime/breaker';
import { runProcess } from '../../runtime/process';
import { BreakerExchange, VENUE_BREAKER } from '../../venue/breaker-exchange';
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
  // Submissions and cancels go through the venue's circuit breaker, reported for /readyz.
  let reporter: BreakerReporter | null = null;
  const breakers = new BreakerBoard({ failureThreshold: config.BREAKER_FAILURE_THRESHOLD, halfOpenAfterMs: config.BREAKER_HALF_OPEN_AFTER_MS }, (name, state) => {
    logger[state === 'closed' ? 'info' : 'error']({ breaker: name, state }, state === 'open' ? 'ALERT: circuit breaker open' : 'circuit breaker state');
    reporter?.kick();
  });
  reporter = new BreakerReporter(orm, 'worker', breakers, [VENUE_BREAKER], 5_000, (err) => logger.warn({ err }, 'could not report breaker states'));
  reporter.start();
  lifecycle.onShutdown('breaker reports', () => reporter.stop());
  const worker = await createOrderWorker({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    maxCachedWorkflows: config.ORDER_WORKER_MAX_CACHED_WORKFLOWS,
    activities: {
      orm,
      venue: new BreakerExchange(venue, breakers.get(VENUE_BREAKER)),
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
