/**
 * The maintenance process: a Temporal worker for the retention job, and the Schedule
 * that runs it every RETENTION_INTERVAL_MINUTES (created or updated at start). The job
 * deletes published outbox rows, processed-event records, venue fills reflected in
 * order fills and delivered notifications older than their configured ages.
 */
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { ensureRetentionSchedule } from '../../clients/retention-schedule';
import { openDatabase } from '../../persistence/orm';
import { runProcess } from '../../runtime/process';
import { openSimulatedVenueDatabase } from '../../venue/simulated/database';
import { maintenanceTaskQueue } from '../../workflows/retention/definitions';
import { temporalLogger } from '../order/worker';
import { createMaintenanceWorker, pluginPruners, retentionInput } from './worker';

runProcess('maintenance', async ({ config, logger, lifecycle }) => {
  Runtime.install({ logger: temporalLogger(logger, config.LOG_LEVEL === 'debug' ? 'DEBUG' : 'WARN'), shutdownSignals: [] });
  const orm = await openDatabase(config.DATABASE_URL, lifecycle);
  const venueOrm = await openSimulatedVenueDatabase(config.DATABASE_URL, lifecycle);
  const nativeConnection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  lifecycle.onShutdown('temporal worker connection', () => nativeConnection.close());
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  lifecycle.onShutdown('temporal client connection', () => connection.close());

  const taskQueue = maintenanceTaskQueue(config.TEMPORAL_TASK_QUEUE);
  const grace = Math.max(1_000, config.SHUTDOWN_TIMEOUT_MS - 5_000);
  const worker = await createMaintenanceWorker({ connection: nativeConnection, namespace: config.TEMPORAL_NAMESPACE, taskQueue, orm, logger, pruners: pluginPruners(orm, venueOrm), shutdownGraceTime: grace });
  const running = worker.run();
  // A run in progress finishes its batch (or is retried by the next worker): each batch is one transaction.
  lifecycle.onShutdown('retention worker', () => {
    worker.shutdown();
    return running;
  });

  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const input = retentionInput(config);
  await ensureRetentionSchedule(client, { taskQueue, intervalMs: config.RETENTION_INTERVAL_MINUTES * 60_000, input });
  logger.info({ taskQueue, everyMinutes: config.RETENTION_INTERVAL_MINUTES, ages: input.ages }, 'maintenance worker polling; retention scheduled');
  await running;
  if (!lifecycle.isStopping) await lifecycle.shutdown('maintenance worker stopped');
});
