/**
 * The event pipeline for a test file: streams declared under the run's prefix, an
 * outbox relay, and the given subscribers (with their background services).
 *
 * Every test file of a run shares the prefix, so relays in different files
 * cooperate (each outbox row is published once), and a subscriber started in two
 * files runs as two copies of one subscriber, as it would in production.
 */
import { jetstream } from '@nats-io/jetstream';
import { DeliverPolicy } from '@nats-io/jetstream';
import { parseEvent, type EventEnvelope } from '../../events/catalogue';
import { OutboxRelay } from '../../events/relay';
import { STREAMS, type StreamKey } from '../../events/streams';
import { connectMessaging, Topology, type Messaging } from '../../messaging/nats';
import { createLogger } from '../../runtime/logger';
import { setupMessaging } from '../../scripts/setup-messaging';
import { Subscriber, type BackgroundService, type SubscriberDefinition } from '../../subscribers/framework';
import type { Harness } from './harness';

export interface Pipeline {
  messaging: Messaging;
  topology: Topology;
  relay: OutboxRelay;
  subscribers: Map<string, Subscriber>;
  close(): Promise<void>;
}

export async function startPipeline(h: Harness, opts: { subscribers?: SubscriberDefinition[]; relay?: boolean } = {}): Promise<Pipeline> {
  const logger = createLogger('test-pipeline', h.config.LOG_LEVEL);
  await setupMessaging(h.config);
  const messaging = await connectMessaging(h.config.NATS_URL, 'test-pipeline');
  const topology = new Topology(h.config.EVENTS_PREFIX);
  const relay = new OutboxRelay(h.orm, messaging.js, topology, logger, { databaseUrl: h.config.DATABASE_URL, pollIntervalMs: 250 });
  if (opts.relay !== false) await relay.start();
  const subscribers = new Map<string, Subscriber>();
  const services: BackgroundService[] = [];
  for (const def of opts.subscribers ?? []) {
    for (const s of def.services?.({ config: h.config, orm: h.orm, logger }) ?? []) {
      await s.start();
      services.push(s);
    }
    const sub = new Subscriber(def, h.orm, messaging, topology, logger, { ackWaitMs: 3_000, batch: 4 });
    await sub.start();
    subscribers.set(def.name, sub);
  }
  return {
    messaging,
    topology,
    relay,
    subscribers,
    async close() {
      for (const s of subscribers.values()) await s.stop();
      for (const s of services) await s.stop();
      await relay.stop();
      await messaging.nc.close();
    },
  };
}

/** Polls fn until predicate holds (fails after timeoutMs, showing the last value). */
export async function eventually<T>(fn: () => Promise<T>, predicate: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await fn();
  while (!predicate(last)) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms; last value: ${JSON.stringify(last, null, 2)}`);
    await new Promise((r) => setTimeout(r, 100));
    last = await fn();
  }
  return last;
}

export interface StoredEvent {
  subject: string;
  msgId: string | undefined;
  streamSequence: number;
  event: EventEnvelope;
}

/** Every message a stream holds now, matching an (unprefixed) subject filter, validated. */
export async function streamEvents(p: Pick<Pipeline, 'messaging' | 'topology'>, stream: StreamKey, filter?: string): Promise<StoredEvent[]> {
  const js = jetstream(p.messaging.nc);
  const consumer = await js.consumers.get(p.topology.stream(STREAMS[stream].name), {
    filter_subjects: p.topology.subject(filter ?? STREAMS[stream].subjects[0]),
    deliver_policy: DeliverPolicy.All,
  });
  if ((await consumer.info()).num_pending === 0) return [];
  const out: StoredEvent[] = [];
  const messages = await consumer.consume();
  for await (const m of messages) {
    out.push({ subject: p.topology.unprefix(m.subject), msgId: m.headers?.get('Nats-Msg-Id'), streamSequence: m.info.streamSequence, event: parseEvent(m.json()) });
    if (m.info.pending === 0) break;
  }
  await messages.close();
  return out;
}
