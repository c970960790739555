/** Creates or updates the JetStream streams and durable consumers (idempotent). */
import type { AppConfig } from '../config';
import { streamLimitsOf, streamSpecs } from '../events/streams';
import { connectMessaging, ensureConsumers, ensureStreams, Topology } from '../messaging/nats';
import { consumerSpecsFor } from '../subscribers/framework';
import { SUBSCRIBERS } from '../subscribers/registry';

type StreamLimitKeys = 'EVENT_STREAM_MAX_AGE_DAYS' | 'EVENT_STREAM_MAX_BYTES' | 'DEAD_LETTERS_MAX_AGE_DAYS';

export async function setupMessaging(
  config: Pick<AppConfig, 'NATS_URL' | 'EVENTS_PREFIX'> & Partial<Pick<AppConfig, 'SUBSCRIBER_ACK_WAIT_MS' | StreamLimitKeys>>,
): Promise<void> {
  const { nc, jsm } = await connectMessaging(config.NATS_URL, 'order-service-setup');
  try {
    const t = new Topology(config.EVENTS_PREFIX);
    const limited = config.EVENT_STREAM_MAX_AGE_DAYS !== undefined && config.EVENT_STREAM_MAX_BYTES !== undefined && config.DEAD_LETTERS_MAX_AGE_DAYS !== undefined;
    await ensureStreams(jsm, streamSpecs(t, limited ? streamLimitsOf(config as Pick<AppConfig, StreamLimitKeys>) : undefined));
    await ensureConsumers(jsm, Object.values(SUBSCRIBERS).flatMap((def) => consumerSpecsFor(def, t, config.SUBSCRIBER_ACK_WAIT_MS)));
  } finally {
    await nc.close();
  }
}
