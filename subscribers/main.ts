/**
 * A subscriber process: `node dist/subscribers/main.js <name>` (see registry.ts).
 * Run several copies to share the work. On SIGINT/SIGTERM it stops pulling, finishes
 * the event in hand, stops its background services and closes its connections.
 */
import { loadConfig } from '../config';
import { connectMessaging, Topology } from '../messaging/nats';
import { assertMigrated, initOrm } from '../persistence/orm';
import { Lifecycle, runMain } from '../runtime/lifecycle';
import { createLogger } from '../runtime/logger';
import { Subscriber } from './framework';
import { SUBSCRIBERS } from './registry';

const name = process.argv[2] ?? '';
const config = loadConfig();
const logger = createLogger(`subscriber-${name}`, config.LOG_LEVEL);

runMain(logger, async () => {
  const def = SUBSCRIBERS[name];
  if (!def) throw new Error(`unknown subscriber "${name}"; one of: ${Object.keys(SUBSCRIBERS).join(', ')}`);
  const lifecycle = new Lifecycle(logger, config.SHUTDOWN_TIMEOUT_MS);
  lifecycle.handleSignals();
  const orm = await initOrm(config.DATABASE_URL);
  lifecycle.onShutdown('database', () => orm.close());
  await assertMigrated(orm);
  const messaging = await connectMessaging(config.NATS_URL, `order-service-${name}`);
  lifecycle.onShutdown('nats', () => messaging.nc.drain());

  for (const service of def.services?.({ orm, logger }) ?? []) {
    await service.start();
    lifecycle.onShutdown(service.name, () => service.stop());
  }
  const subscriber = new Subscriber(def, orm, messaging, new Topology(config.EVENTS_PREFIX), logger, { ackWaitMs: config.SUBSCRIBER_ACK_WAIT_MS });
  await subscriber.start();
  lifecycle.onShutdown('subscriber', () => subscriber.stop());
  logger.info({ subscriber: name }, 'subscriber running');
});
