/** Outbox relay process: `node dist/events/relay-main.js`. Run one or several side by side. */
import { loadConfig } from '../config';
import { connectMessaging, Topology } from '../messaging/nats';
import { assertMigrated, initOrm } from '../persistence/orm';
import { Lifecycle, runMain } from '../runtime/lifecycle';
import { createLogger } from '../runtime/logger';
import { OutboxRelay } from './relay';

const config = loadConfig();
const logger = createLogger('relay', config.LOG_LEVEL);

runMain(logger, async () => {
  const lifecycle = new Lifecycle(logger, config.SHUTDOWN_TIMEOUT_MS);
  lifecycle.handleSignals();
  const orm = await initOrm(config.DATABASE_URL);
  lifecycle.onShutdown('database', () => orm.close());
  await assertMigrated(orm);
  const messaging = await connectMessaging(config.NATS_URL, 'order-service-relay');
  lifecycle.onShutdown('nats', () => messaging.nc.drain());
  const relay = new OutboxRelay(orm, messaging.js, new Topology(config.EVENTS_PREFIX), logger, { databaseUrl: config.DATABASE_URL });
  await relay.start();
  lifecycle.onShutdown('relay', () => relay.stop());
  logger.info({ prefix: config.EVENTS_PREFIX || '(none)' }, 'outbox relay running');
});
