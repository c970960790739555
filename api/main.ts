/**
 * The API process: the Koa app. On SIGINT/SIGTERM it stops accepting connections,
 * lets in-flight requests finish, then closes its connections.
 */
import type { Server } from 'node:http';
import { OrderClient } from '../clients/order-client';
import { openTemporalClient } from '../clients/temporal';
import { openMessaging, Topology } from '../messaging/nats';
import { openDatabase } from '../persistence/orm';
import { runProcess } from '../runtime/process';
import { openSimulatedVenueDatabase } from '../venue/simulated/database';
import { SimulatedVenue } from '../venue/simulated/venue';
import { createApp } from './app';
import { readinessChecks } from './readiness';
import { LiveStreams, stopServing } from './live-streams';

runProcess('api', async ({ config, logger, lifecycle }) => {
  const orm = await openDatabase(config.DATABASE_URL, lifecycle);
  const venueOrm = config.VENUE === 'simulated' ? await openSimulatedVenueDatabase(config.DATABASE_URL, lifecycle) : null;
  const client = await openTemporalClient(config, lifecycle);
  const nats = await openMessaging(config.NATS_URL, 'order-service-api', lifecycle);

  const liveStreams = new LiveStreams(config.MAX_STREAMS_PER_KEY, config.STREAM_MAX_BUFFER_BYTES);
  const app = createApp({
    liveStreams,
    config,
    orm,
    orders: new OrderClient(client, config.TEMPORAL_TASK_QUEUE, config.ORDER_ACK_TIMEOUT_MS, () => orm.em.fork()),
    venue: venueOrm ? new SimulatedVenue({ orm, venueOrm }) : null,
    logger,
    messaging: nats,
    topology: new Topology(config.EVENTS_PREFIX),
    readiness: readinessChecks({ config, temporal: client, orm, messaging: nats, topology: new Topology(config.EVENTS_PREFIX) }),
  });

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(config.PORT, config.HOST, () => resolve(s)).on('error', reject);
  });
  lifecycle.onShutdown('http server', () => stopServing(server, liveStreams));
  logger.info({ url: `http://${config.HOST}:${config.PORT}` }, 'API listening');
});
