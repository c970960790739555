/**
 * How a subscriber runs as its own process (each subscriber's main.ts calls this):
 * its background services, then its durable consumers. Run several copies to share
 * the work. On SIGINT/SIGTERM it stops pulling, finishes the event in hand, stops its
 * background services and closes its connections.
 */
import { openMessaging, Topology } from '../messaging/nats';
import { openDatabase } from '../persistence/orm';
import { runProcess } from '../runtime/process';
import { Pump } from '../runtime/pump';
import { Subscriber, type SubscriberDefinition } from './framework';

export function runSubscriberProcess(def: SubscriberDefinition): void {
  runProcess(`subscriber-${def.name}`, async ({ config, logger, lifecycle }) => {
    const orm = await openDatabase(config.DATABASE_URL, lifecycle);
    const nats = await openMessaging(config.NATS_URL, `order-service-${def.name}`, lifecycle);
    for (const service of def.services?.({ config, orm, logger }) ?? []) {
      await service.start();
      lifecycle.onShutdown(service.name, () => service.stop());
    }
    const subscriber = new Subscriber(def, orm, nats, new Topology(config.EVENTS_PREFIX), logger, { ackWaitMs: config.SUBSCRIBER_ACK_WAIT_MS });
    await subscriber.start();
    lifecycle.onShutdown('subscriber', () => subscriber.stop());
    if (def.snapshot) {
      // Every copy snapshots (the two latest are kept): a rebuild starts from the latest.
      const snapshots = new Pump(
        async () => {
          await subscriber.takeSnapshot();
        },
        (err) => logger.error({ err, subscriber: def.name }, 'projection snapshot failed; tried again next interval'),
      );
      snapshots.start(config.SNAPSHOT_INTERVAL_MINUTES * 60_000);
      lifecycle.onShutdown('snapshots', () => snapshots.stop());
    }
    logger.info({ subscriber: def.name }, 'subscriber running');
  });
}
