/**
 * The simulated venue's process: its fill dispatcher, which brings the fills a tick
 * made to their order workflows (through the OrderClient), woken by the venue's NOTIFY
 * and sweeping every VENUE_REDELIVERY_INTERVAL_MS for what is due again. Run one or
 * several side by side (orders are leased, so each order's fills go out once, in order).
 */
import { OrderClient } from '../../clients/order-client';
import { openTemporalClient } from '../../clients/temporal';
import { openDatabase } from '../../persistence/orm';
import { runProcess } from '../../runtime/process';
import { openSimulatedVenueDatabase } from '../../venue/simulated/database';
import { FillDispatcher } from './fill-dispatcher';

runProcess('venue', async ({ config, logger, lifecycle }) => {
  const orm = await openDatabase(config.DATABASE_URL, lifecycle);
  const venueOrm = await openSimulatedVenueDatabase(config.DATABASE_URL, lifecycle);
  const client = await openTemporalClient(config, lifecycle);
  const orders = new OrderClient(client, config.TEMPORAL_TASK_QUEUE, config.ORDER_ACK_TIMEOUT_MS, () => orm.em.fork());
  const dispatcher = new FillDispatcher({ orm, venueOrm }, orders, logger.child({ component: 'fill-dispatcher' }), {
    intervalMs: config.VENUE_REDELIVERY_INTERVAL_MS,
    databaseUrl: config.DATABASE_URL,
  });
  await dispatcher.start();
  lifecycle.onShutdown('fill dispatcher', () => dispatcher.stop());
  logger.info('simulated venue: fill dispatcher running');
});
