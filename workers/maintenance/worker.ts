/**
 * The maintenance worker: the retention workflow and its activity on a task queue of
 * their own (the order worker's is untouched), and the job's input from the
 * configuration: the configured ages raised to what idempotency needs.
 */
import { NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { createRetentionActivities, type Pruner } from '../../activities/retention/activities';
import type { AppConfig } from '../../config';
import { effectiveRetentionAges, type RetentionTarget } from '../../domain/retention';
import { streamLimitsOf } from '../../events/streams';
import type { Orm } from '../../persistence/orm';
import type { Logger } from '../../runtime/logger';
import { pruneDeliveredNotifications } from '../../subscribers/notification/store';
import type { VenueOrm } from '../../venue/simulated/database';
import { pruneReflectedFills } from '../../venue/simulated/repository';
import type { RetentionInput } from '../../workflows/retention/definitions';

const DAY_MS = 24 * 60 * 60 * 1000;
/** JetStream's duplicate window on Nats-Msg-Id (messaging/nats.ts streamDefaults). */
const DUPLICATE_WINDOW_MS = 2 * 60 * 1000;

type RetentionConfig = Pick<
  AppConfig,
  | 'RETENTION_OUTBOX_DAYS'
  | 'RETENTION_PROCESSED_EVENTS_DAYS'
  | 'RETENTION_VENUE_FILLS_DAYS'
  | 'RETENTION_NOTIFICATIONS_DAYS'
  | 'EVENT_STREAM_MAX_AGE_DAYS'
  | 'EVENT_STREAM_MAX_BYTES'
  | 'DEAD_LETTERS_MAX_AGE_DAYS'
  | 'SUBSCRIBER_ACK_WAIT_MS'
>;

export function retentionInput(config: RetentionConfig, batchSize = 1_000): RetentionInput {
  const limits = streamLimitsOf(config);
  const ages = effectiveRetentionAges(
    {
      outbox: config.RETENTION_OUTBOX_DAYS * DAY_MS,
      processedEvents: config.RETENTION_PROCESSED_EVENTS_DAYS * DAY_MS,
      venueFills: config.RETENTION_VENUE_FILLS_DAYS * DAY_MS,
      notifications: config.RETENTION_NOTIFICATIONS_DAYS * DAY_MS,
    },
    { streamMaxAgeMs: limits.eventsMaxAgeMs, deadLettersMaxAgeMs: limits.deadLettersMaxAgeMs, ackWaitMs: config.SUBSCRIBER_ACK_WAIT_MS, duplicateWindowMs: DUPLICATE_WINDOW_MS },
  );
  return { ages, batchSize };
}

/** The targets whose tables belong to plug-ins: the simulated venue's fills, the notification subscriber's deliveries. */
export function pluginPruners(orm: Orm, venueOrm: VenueOrm): Partial<Record<RetentionTarget, Pruner>> {
  return {
    venueFills: async (before, limit) => {
      const r = await venueOrm.em.fork().transactional((em) => pruneReflectedFills(em, before, limit));
      return { deleted: r.fills, more: r.orders >= limit };
    },
    notifications: async (before, limit) => {
      const deleted = await orm.em.fork().transactional((em) => pruneDeliveredNotifications(em, before, limit));
      return { deleted, more: deleted >= limit };
    },
  };
}

export interface MaintenanceWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  taskQueue: string;
  orm: Orm;
  logger: Logger;
  pruners: Partial<Record<RetentionTarget, Pruner>>;
  shutdownGraceTime?: WorkerOptions['shutdownGraceTime'];
}

export async function createMaintenanceWorker(opts: MaintenanceWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue,
    // Its own small bundle (the order worker's bundle stays the order workflow's).
    workflowsPath: require.resolve('../../workflows/retention/workflow'),
    activities: createRetentionActivities({ orm: opts.orm, logger: opts.logger, pruners: opts.pruners }),
    shutdownGraceTime: opts.shutdownGraceTime ?? '30s',
  });
}
