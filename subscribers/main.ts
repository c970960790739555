/**
 * A subscriber process: `node dist/subscribers/main.js <name>` (see registry.ts).
 * Run several copies to share the work. On SIGINT/SIGTERM it stops pulling, finishes
 * the event in hand, stops its background services and closes its connections.
 */
import { Topology } from '../messaging/nats';
import { runProcess } from '../runtime/process';
import { Subscriber } from './framework';
import { SUBSCRIBERS } from './registry';

const name = process.argv[2] ?? '';

runProcess(`subscriber-${name}`, async ({ config, logger, lifecycle, orm, messaging }) => {
  const def = SUBSCRIBERS[name];
  if (!def) throw new Error(`unknown subscriber "${name}"; one of: ${Object.keys(SUBSCRIBERS).join(', ')}`);
  const nats = await messaging(`order-service-${name}`);
  for (const service of def.services?.({ orm, logger }) ?? []) {
    await service.start();
    lifecycle.onShutdown(service.name, () => service.stop());
  }
  const subscriber = new Subscriber(def, orm, nats, new Topology(config.EVENTS_PREFIX), logger, { ackWaitMs: config.SUBSCRIBER_ACK_WAIT_MS });
  await subscriber.start();
  lifecycle.onShutdown('subscriber', () => subscriber.stop());
  logger.info({ subscriber: name }, 'subscriber running');
});
