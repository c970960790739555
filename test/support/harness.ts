/**
 * What an integration test file needs, against the real services global setup
 * started: the ORM on the run's database, a Temporal client, an order worker on a
 * task queue of the file's own, the simulated venue and its fill dispatcher.
 */
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { loadConfig, type AppConfig } from '../../config';
import { OrderClient } from '../../clients/order-client';
import { initOrm, type Orm } from '../../persistence/orm';
import { createLogger } from '../../runtime/logger';
import { FillDispatcher, type FillDispatcherOptions } from '../../workers/venue/fill-dispatcher';
import { initSimulatedVenueOrm, type VenueOrm } from '../../venue/simulated/database';
import { SimulatedVenue } from '../../venue/simulated/venue';
import type { ExchangeAdapter } from '../../venue/exchange';
import { createOrderWorker } from '../../workers/order/worker';

let runtimeInstalled = false;

export interface Harness {
  config: AppConfig;
  orm: Orm;
  /** The simulated venue's own ORM (its tables only). */
  venueOrm: VenueOrm;
  client: Client;
  taskQueue: string;
  venue: SimulatedVenue;
  dispatcher: FillDispatcher;
  orders: OrderClient;
  worker: Worker;
  close(): Promise<void>;
}

export interface HarnessOptions {
  config?: Partial<AppConfig>;
  /** Wraps the venue the workflow's activities talk to (fault injection). */
  venueAdapter?: (venue: SimulatedVenue) => ExchangeAdapter;
  /** Reuse this task queue (to restart a worker where another left off). */
  taskQueue?: string;
  dispatcher?: Partial<FillDispatcherOptions>;
  /** Run this workflow bundle instead of the current code (an older release's workflow). */
  workflowBundlePath?: string;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const config = { ...loadConfig(), ...options.config };
  if (!runtimeInstalled) {
    Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
    runtimeInstalled = true;
  }
  const logger = createLogger('test', config.LOG_LEVEL);
  const orm = await initOrm(config.DATABASE_URL);
  const venueOrm = await initSimulatedVenueOrm(config.DATABASE_URL);
  const nativeConnection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const connection = await Connection.connect({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const taskQueue = options.taskQueue ?? `orders-test-${randomUUID()}`;
  const venue = new SimulatedVenue({ orm, venueOrm });
  const worker = await createOrderWorker({
    connection: nativeConnection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue,
    workflowBundlePath: options.workflowBundlePath ?? process.env.TEST_WORKFLOW_BUNDLE,
    activities: {
      orm,
      venue: options.venueAdapter ? options.venueAdapter(venue) : venue,
      marketData: venue,
      tradingDayCloseUtc: config.TRADING_DAY_CLOSE_UTC,
      marketOrderCollar: config.MARKET_ORDER_COLLAR,
      submissionDeadlineMs: config.ORDER_SUBMISSION_DEADLINE_MS,
    },
    shutdownGraceTime: '5s',
  });
  const running = worker.run();
  const orders = new OrderClient(client, taskQueue, config.ORDER_ACK_TIMEOUT_MS, () => orm.em.fork());
  const dispatcher = new FillDispatcher({ orm, venueOrm }, orders, logger, { intervalMs: 250, databaseUrl: config.DATABASE_URL, ...options.dispatcher });

  return {
    config,
    orm,
    venueOrm,
    client,
    taskQueue,
    venue,
    dispatcher,
    orders,
    worker,
    async close() {
      await dispatcher.stop();
      worker.shutdown();
      await running;
      await Promise.all([nativeConnection.close(), connection.close(), orm.close(), venueOrm.close()]);
    },
  };
}
