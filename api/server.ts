/**
 * API process: the Koa app, plus the simulated venue's fill dispatcher. On
 * SIGINT/SIGTERM it stops accepting connections, lets in-flight requests finish,
 * then closes its connections.
 */
import type { Server } from 'node:http';
import { Topology } from '../messaging/nats';
import { runProcess } from '../runtime/process';
import { connectTemporalClient } from '../runtime/temporal';
import { FillDispatcher } from '../venue/fill-dispatcher';
import { SimulatedVenue } from '../venue/simulated-venue';
import { createApp } from './app';
import { OrderCommands } from './order-commands';

runProcess('api', async ({ config, logger, lifecycle, orm, messaging }) => {
  const client = await connectTemporalClient(config);
  lifecycle.onShutdown('temporal client', () => client.connection.close());
  const nats = await messaging('order-service-api');
  const venue = new SimulatedVenue(orm);
  const dispatcher = new FillDispatcher(orm, client, logger.child({ component: 'fill-dispatcher' }), {
    intervalMs: config.VENUE_REDELIVERY_INTERVAL_MS,
  });
  dispatcher.start();
  lifecycle.onShutdown('fill dispatcher', () => dispatcher.stop());

  const app = createApp({
    config,
    orm,
    orders: new OrderCommands(client, config.TEMPORAL_TASK_QUEUE, config.ORDER_ACK_TIMEOUT_MS, () => orm.em.fork()),
    venue,
    dispatcher,
    logger,
    messaging: nats,
    topology: new Topology(config.EVENTS_PREFIX),
    health: [
      { name: 'temporal', check: async () => void (await client.workflowService.getSystemInfo({})) },
      { name: 'postgres', check: async () => void (await orm.em.fork().execute('select 1')) },
      { name: 'nats', check: async () => void (await nats.jsm.getAccountInfo()) },
    ],
  });

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.PORT, config.HOST, () => resolve(s)).on('error', reject);
  });
  lifecycle.onShutdown('http server', () => new Promise<void>((resolve) => server.close(() => resolve())));
  logger.info({ url: `http://${config.HOST}:${config.PORT}` }, 'API listening');
});
