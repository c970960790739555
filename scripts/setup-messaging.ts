/** Creates or updates the JetStream streams and durable consumers (idempotent). */
import type { AppConfig } from '../config';
import { consumerSpecs, streamSpecs, topologyFor } from '../events/topology';
import { connectMessaging, ensureConsumers, ensureStreams } from '../messaging/nats';

export async function setupMessaging(config: Pick<AppConfig, 'NATS_URL' | 'EVENTS_PREFIX'>): Promise<void> {
  const { nc, jsm } = await connectMessaging(config.NATS_URL, 'order-service-setup');
  try {
    const t = topologyFor(config.EVENTS_PREFIX);
    await ensureStreams(jsm, streamSpecs(t));
    await ensureConsumers(jsm, consumerSpecs.flatMap((specs) => specs(t)));
  } finally {
    await nc.close();
  }
}
