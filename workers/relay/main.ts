/** The outbox relay process. Run one or several side by side. */
import { OutboxRelay } from '../../events/relay';
import { openMessaging, Topology } from '../../messaging/nats';
import { openDatabase } from '../../persistence/orm';
import { runProcess } from '../../runtime/process';

runProcess('relay', async ({ config, logger, lifecycle }) => {
  const orm = await openDatabase(config.DATABASE_URL, lifecycle);
  const { js } = await openMessaging(config.NATS_URL, 'order-service-relay', lifecycle);
  const relay = new OutboxRelay(orm, js, new Topology(config.EVENTS_PREFIX), logger, {
    databaseUrl: config.DATABASE_URL,
    maxPublishAttempts: config.OUTBOX_MAX_PUBLISH_ATTEMPTS,
  });
  await relay.start();
  lifecycle.onShutdown('relay', () => relay.stop());
  logger.info({ prefix: config.EVENTS_PREFIX || '(none)' }, 'outbox relay running');
});
