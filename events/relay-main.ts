/** Outbox relay process: `node dist/events/relay-main.js`. Run one or several side by side. */
import { Topology } from '../messaging/nats';
import { runProcess } from '../runtime/process';
import { OutboxRelay } from './relay';

runProcess('relay', async ({ config, logger, lifecycle, orm, messaging }) => {
  const { js } = await messaging('order-service-relay');
  const relay = new OutboxRelay(orm, js, new Topology(config.EVENTS_PREFIX), logger, { databaseUrl: config.DATABASE_URL });
  await relay.start();
  lifecycle.onShutdown('relay', () => relay.stop());
  logger.info({ prefix: config.EVENTS_PREFIX || '(none)' }, 'outbox relay running');
});
