/** Creates or updates the JetStream streams and durable consumers (idempotent). */
import type { AppConfig } from '../config';
import { streamSpecs } from '../events/streams';
import { connectMessaging, ensureConsumers, ensureStreams, Topology } from '../messaging/nats';
import { consumerSpecsFor } from '../subscribers/framework';
import { SUBSCRIBERS } from '../subscribers/registry';

export async function setupMessaging(config: Pick<AppConfig, 'NATS_URL' | 'EVENTS_PREFIX'> & Partial<Pick<AppConfig, 'SUBSCRIBER_ACK_WAIT_MS'>>): Promise<void> {
  const { nc, jsm } = await connectMessaging(config.NATS_URL, 'order-service-setup');
  try {
    const t = new Topology(config.EVENTS_PREFIX);
    await ensureStreams(jsm, streamSpecs(t));
    await ensureConsumers(jsm, Object.values(SUBSCRIBERS).flatMap((def) => consumerSpecsFor(def, t, config.SUBSCRIBER_ACK_WAIT_MS)));
  } finally {
    await nc.close();
  }
}
