/**
 * A rebuild after the stream dropped its early events (max_age / max_bytes; here a
 * purge stands in for them): from the start it is refused before anything is emptied;
 * from the latest snapshot it replays only what followed the snapshot and ends with
 * the same projection; once the stream also dropped what followed the snapshot, it is
 * refused again. In a database and subject prefix of this file's own (it purges a stream).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import pino from 'pino';
import type { EventEnvelope } from '../../events/catalogue';
import { STREAMS } from '../../events/streams';
import { connectMessaging, Topology, type Messaging } from '../../messaging/nats';
import { connectDatabase, dropDatabase, type Orm } from '../../persistence/orm';
import { setupMessaging } from '../../scripts/setup-messaging';
import { consumerName, Subscriber, type SubscriberDefinition } from '../../subscribers/framework';
import { eventually } from '../support/pipeline';

const natsUrl = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const topology = new Topology(`${process.env.EVENTS_PREFIX}_drops`);
const databaseUrl = (() => {
  const u = new URL(process.env.DATABASE_URL as string);
  u.pathname = `${u.pathname}_drops`;
  return u.toString();
})();
const fundsStream = topology.stream(STREAMS.funds.name);

let orm: Orm;
let nats: Messaging;
let sub: Subscriber;

/** A projection of one row per deposit, with a snapshot of its rows; resets are counted. */
let resets = 0;
const projection: SubscriberDefinition = {
  name: 'drops',
  subscriptions: [{ stream: 'funds' }],
  async handle(em: EntityManager, e: EventEnvelope) {
    await em.execute('insert into drop_effects (event_id, sequence) values (?, ?)', [e.eventId, e.sequence]);
  },
  async reset(em) {
    resets++;
    await em.execute('delete from drop_effects');
  },
  async snapshot(em) {
    return em.execute('select event_id, sequence from drop_effects order by sequence');
  },
  async restore(em, state) {
    for (const r of state as { event_id: string; sequence: number }[]) await em.execute('insert into drop_effects (event_id, sequence) values (?, ?)', [r.event_id, r.sequence]);
  },
};

const account = randomUUID();

async function deposit(sequence: number): Promise<void> {
  const event: EventEnvelope = {
    eventId: randomUUID(),
    eventType: 'funds.deposited',
    eventVersion: 1,
    timestamp: new Date().toISOString(),
    source: 'order-service',
    correlationId: null,
    causationId: null,
    aggregateType: 'funds',
    aggregateId: account,
    sequence,
    data: { accountId: account, asset: 'USD', amount: '1', reference: `r${sequence}`, transactionId: String(sequence) },
  };
  await nats.js.publish(topology.subject(`funds.deposited.${account}`), JSON.stringify(event), { msgID: event.eventId });
}

async function effects(): Promise<number[]> {
  return (await orm.em.fork().execute<{ sequence: number }[]>('select sequence from drop_effects order by sequence')).map((r) => r.sequence);
}

beforeAll(async () => {
  orm = await connectDatabase(databaseUrl);
  await orm.em.fork().execute('create table drop_effects (event_id uuid primary key, sequence integer not null)');
  await setupMessaging({ NATS_URL: natsUrl, EVENTS_PREFIX: topology.prefix });
  nats = await connectMessaging(natsUrl, 'drops-test');
  sub = new Subscriber(projection, orm, nats, topology, pino({ level: 'silent' }), { ackWaitMs: 3_000, batch: 4, pullExpiresMs: 2_000 });
  await sub.start();
});
afterAll(async () => {
  await sub?.stop();
  await nats?.jsm.streams.delete(fundsStream).catch(() => undefined);
  await nats?.nc.close();
  await orm?.close();
  await dropDatabase(databaseUrl);
});

describe('a rebuild after the stream dropped early events', () => {
  it('is refused from the start, works from the latest snapshot, and is refused once what followed the snapshot is gone', async () => {
    for (const n of [1, 2, 3]) await deposit(n);
    await eventually(effects, (e) => e.length === 3);
    // Every message up to 3 acknowledged: the snapshot reflects them.
    await eventually(async () => (await nats.jsm.consumers.info(fundsStream, consumerName('drops', 'funds'))).ack_floor.stream_seq, (s) => s === 3);
    const snapshot = await sub.takeSnapshot();
    expect(snapshot.streamSequences).toEqual({ funds: 3 });

    for (const n of [4, 5]) await deposit(n);
    await eventually(effects, (e) => e.length === 5);

    // Retention drops messages 1 to 3.
    await nats.jsm.streams.purge(fundsStream, { seq: 4 });
    await expect(sub.rebuild({ fromStart: true })).rejects.toThrow(/refused: stream .* now starts at 4, but the replay needs it from 1/);
    expect([resets, await effects()]).toEqual([0, [1, 2, 3, 4, 5]]);

    const rebuilt = await sub.rebuild();
    expect(rebuilt).toEqual({ replayed: 2, snapshot: snapshot.id });
    expect([resets, await effects()]).toEqual([1, [1, 2, 3, 4, 5]]);

    // Now 4 goes too: the snapshot no longer reaches the stream.
    await nats.jsm.streams.purge(fundsStream, { seq: 5 });
    await expect(sub.rebuild()).rejects.toThrow(/now starts at 5, but the replay needs it from 4 \(snapshot/);
    expect([resets, await effects()]).toEqual([1, [1, 2, 3, 4, 5]]);
  });
});
