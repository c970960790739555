/**
 * Subscribers keep running, on real JetStream and PostgreSQL, in a database and subject
 * prefix of this file's own (it deletes consumers and a stream no other test may see):
 * the durable consumer deleted under a running subscriber, the subscriber's NATS
 * connection restarted, and the stream deleted and recreated. Each time the subscriber
 * resumes by itself and every event has exactly one effect.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import pino from 'pino';
import type { EventEnvelope } from '../../events/catalogue';
import { appendEvents, draft, eventIdFor } from '../../events/outbox';
import { OutboxRelay } from '../../events/relay';
import { STREAMS, streamSpecs } from '../../events/streams';
import { connectMessaging, ensureStreams, Topology, type Messaging } from '../../messaging/nats';
import { connectDatabase, dropDatabase, type Orm } from '../../persistence/orm';
import { setupMessaging } from '../../scripts/setup-messaging';
import { consumerName, Subscriber, type DeliveryOutcome, type SubscriberDefinition } from '../../subscribers/framework';
import { eventually } from '../support/pipeline';

const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const prefix = `${process.env.EVENTS_PREFIX}_resume`;
const databaseUrl = (() => {
  const u = new URL(process.env.DATABASE_URL as string);
  u.pathname = `${u.pathname}_resume`;
  return u.toString();
})();
const topology = new Topology(prefix);
const fundsStream = topology.stream(STREAMS.funds.name);

/** What the subscribers log at warn and above, to see their restarts. */
const logs: { msg: string; consumer?: string; reason?: string; restartInMs?: number }[] = [];
const logger = pino({ level: 'warn' }, { write: (line: string) => void logs.push(JSON.parse(line)) });

let orm: Orm;
/** Publishes (through the relay) and administers; the subscribers have a connection of their own. */
let admin: Messaging;
let relay: OutboxRelay;
const connections: Messaging[] = [];
const subscribers: Subscriber[] = [];

beforeAll(async () => {
  orm = await connectDatabase(databaseUrl);
  await setupMessaging({ NATS_URL: natsUrl, EVENTS_PREFIX: prefix });
  admin = await connectMessaging(natsUrl, 'resume-test');
  relay = new OutboxRelay(orm, admin.js, topology, pino({ level: 'silent' }), { databaseUrl, pollIntervalMs: 250 });
  await relay.start();
  // The test subscribers' projection: one row per effect, no key, so a second effect would show.
  await orm.em.fork().execute('create table resume_effects (subscriber text not null, event_id uuid not null, applied_at timestamptz not null default clock_timestamp())');
});
afterAll(async () => {
  for (const s of subscribers) await s.stop();
  for (const c of connections) await c.nc.close();
  await relay?.stop();
  await admin?.nc.close();
  await orm?.close();
  await dropDatabase(databaseUrl);
});

/** A subscriber of one account's deposits that records each effect; a little slow, so a test can interrupt it mid-flow. */
function recorder(accountId: string): SubscriberDefinition {
  return {
    name: `resume-${randomUUID().slice(0, 8)}`,
    subscriptions: [{ stream: 'funds', filterSubject: `funds.deposited.${accountId}` }],
    async handle(em: EntityManager, e: EventEnvelope) {
      await new Promise((r) => setTimeout(r, 20));
      await em.execute('insert into resume_effects (subscriber, event_id) values (?, ?)', [this.name, e.eventId]);
    },
  };
}

/** Starts a copy of the subscriber on a NATS connection of its own; returns it and the outcomes it reports. */
async function startSubscriber(def: SubscriberDefinition): Promise<{ sub: Subscriber; nats: Messaging; outcomes: DeliveryOutcome[] }> {
  const nats = await connectMessaging(natsUrl, `resume-test-${def.name}`);
  connections.push(nats);
  const outcomes: DeliveryOutcome[] = [];
  const sub = new Subscriber(def, orm, nats, topology, logger, { ackWaitMs: 3_000, batch: 4, pullExpiresMs: 2_000, onOutcome: (_, o) => void outcomes.push(o) });
  subscribers.push(sub);
  await sub.start();
  return { sub, nats, outcomes };
}

/** Appends deposits number `from` to `to - 1` of an account, one transaction each; the relay publishes them. */
async function deposit(accountId: string, from: number, to: number): Promise<void> {
  for (let i = from; i < to; i++) {
    await orm.em.fork().transactional((em) =>
      appendEvents(em, key(accountId, i), [draft('funds.deposited', { accountId, asset: 'USD', amount: '1', reference: `r${i}`, transactionId: String(i) })], {
        correlationId: 'resume-test',
        causationId: null,
      }),
    );
  }
}
const key = (accountId: string, i: number) => `resume:${accountId}:${i}`;

/** Effects per event id of a subscriber. */
async function effects(subscriber: string): Promise<Map<string, number>> {
  const rows = await orm.em
    .fork()
    .execute<{ event_id: string; n: number }[]>('select event_id, count(*)::int as n from resume_effects where subscriber = ? group by event_id', [subscriber]);
  return new Map(rows.map((r) => [r.event_id, r.n]));
}

/** Waits until deposits `from`..`to - 1` have had their effect, then checks that every one of 0..`to - 1` had exactly one. */
async function expectExactlyOnce(def: SubscriberDefinition, accountId: string, to: number, from = 0): Promise<void> {
  const ids = Array.from({ length: to }, (_, i) => eventIdFor(key(accountId, i), 0));
  const seen = await eventually(() => effects(def.name), (m) => ids.slice(from).every((id) => m.has(id)), 30_000);
  expect(Object.fromEntries(seen)).toEqual(Object.fromEntries(ids.map((id) => [id, 1])));
}

const restarts = (consumer: string) => logs.filter((l) => l.msg === 'consumer loop ended; restarting' && l.consumer === consumer);

describe('a subscriber keeps running', () => {
  it('re-creates its durable consumer when it is deleted, and resumes: every event has one effect', async () => {
    const account = randomUUID();
    const def = recorder(account);
    const consumer = consumerName(def.name, 'funds');
    const { outcomes } = await startSubscriber(def);
    await deposit(account, 0, 20);
    // Mid-flow: some applied, some delivered and not acked yet, some not delivered.
    await eventually(() => effects(def.name), (m) => m.size >= 3);
    await admin.jsm.consumers.delete(fundsStream, consumer);
    await deposit(account, 20, 30);
    await expectExactlyOnce(def, account, 30);

    // Idle: its pull waits at the server, which answers that the consumer was deleted.
    await admin.jsm.consumers.delete(fundsStream, consumer);
    await deposit(account, 30, 40);
    await expectExactlyOnce(def, account, 40);

    // Once per deletion, logged with its reason: found missing after missed heartbeats, or told by the server.
    const reasons = restarts(consumer).map((l) => l.reason);
    expect(reasons.length).toBeGreaterThanOrEqual(2);
    for (const reason of reasons) expect(['consumer not found', 'consumer deleted']).toContain(reason);
    expect((await admin.jsm.consumers.info(fundsStream, consumer)).config.durable_name).toBe(consumer);
    // A re-created consumer starts from the beginning: what was applied comes again and is recognised.
    expect(outcomes.filter((o) => o === 'applied')).toHaveLength(40);
    expect(outcomes).toContain('duplicate');
  });

  it('resumes after its NATS connection is restarted: no event lost, none applied twice', async () => {
    const account = randomUUID();
    const def = recorder(account);
    const { nats, outcomes } = await startSubscriber(def);
    await deposit(account, 0, 20);
    await eventually(() => effects(def.name), (m) => m.size >= 3);
    // Drops the socket (pulls and acks in flight are lost) and connects again; the
    // consumer still exists, so the client resumes pulling and the loop runs on.
    const reconnected = (async () => {
      for await (const s of nats.nc.status()) if (s.type === 'reconnect') return;
    })();
    await nats.nc.reconnect();
    await reconnected;
    await deposit(account, 20, 30);

    await expectExactlyOnce(def, account, 30);
    expect(outcomes.filter((o) => o === 'applied')).toHaveLength(30);
  });

  it('waits, backing off, while its stream is gone, and resumes once it is recreated; stop() does not wait for the backoff', async () => {
    const account = randomUUID();
    const def = recorder(account);
    const consumer = consumerName(def.name, 'funds');
    const [a, b] = [await startSubscriber(def), await startSubscriber(def)];
    await deposit(account, 0, 5);
    await expectExactlyOnce(def, account, 5);

    await admin.jsm.streams.delete(fundsStream);
    // Both copies fail to declare the consumer again, each time waiting longer.
    await eventually(async () => restarts(consumer), (r) => r.some((l) => (l.restartInMs ?? 0) >= 2_000), 20_000);
    expect(restarts(consumer).map((l) => l.restartInMs)).toEqual(expect.arrayContaining([250, 500, 1_000, 2_000]));
    const stopping = Date.now();
    await b.sub.stop();
    expect(Date.now() - stopping).toBeLessThan(1_000);

    await ensureStreams(admin.jsm, streamSpecs(topology));
    await deposit(account, 5, 10);
    // The old stream's events went with it; the new ones have their effect, once.
    await expectExactlyOnce(def, account, 10, 5);
    expect([...a.outcomes, ...b.outcomes].filter((o) => o === 'applied')).toHaveLength(10);
  });
});
