/**
 * The subscriber runner on real JetStream and PostgreSQL: exactly-once effect under
 * redelivery, per-aggregate order, poison events dead-lettered and redriven after
 * the fix, schema drift refused.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { EventEnvelope } from '../../events/catalogue';
import { createLogger } from '../../runtime/logger';
import { listDeadLetters, redriveDeadLetters } from '../../subscribers/dead-letters';
import { Subscriber, type SubscriberDefinition } from '../../subscribers/framework';
import { fundedAccount, newInstrument, place } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';
import { eventually, startPipeline, streamEvents, type Pipeline } from '../support/pipeline';

let h: Harness;
let p: Pipeline;
const logger = createLogger('fw-test', process.env.FW_LOG ?? 'silent');

beforeAll(async () => {
  h = await startHarness();
  p = await startPipeline(h);
  // The projection of the test subscribers: one row per applied event.
  await h.orm.em.fork().execute(`
    create table if not exists test_effects (
      subscriber text not null, event_id uuid not null, event_type text not null, sequence int not null, order_id uuid,
      applied_at timestamptz not null default clock_timestamp(), primary key (subscriber, event_id))`);
});
afterAll(async () => {
  await p?.close();
  await h?.close();
});

/** A subscriber of one account's order events that records each event it applies. */
function recorder(accountId: string, extra: Partial<SubscriberDefinition> = {}): SubscriberDefinition {
  return {
    name: `fw-${randomUUID().slice(0, 8)}`,
    subscriptions: [{ stream: 'orders', filterSubject: `orders.*.${accountId}.*` }],
    async handle(em: EntityManager, e: EventEnvelope) {
      await em.execute('insert into test_effects (subscriber, event_id, event_type, sequence, order_id) values (?, ?, ?, ?, ?)', [
        this.name,
        e.eventId,
        e.eventType,
        e.sequence,
        (e.data as { order: { orderId: string } }).order.orderId,
      ]);
    },
    ...extra,
  };
}

const effects = (subscriber: string) =>
  h.orm.em
    .fork()
    .execute<{ event_type: string; order_id: string; sequence: number }[]>(
      'select event_type, order_id, sequence from test_effects where subscriber = ? order by applied_at',
      [subscriber],
    );

describe('subscriber runner', () => {
  it('a poison event goes to the dead letters after bounded retries, the rest keep flowing, and it is redriven after the fix', async () => {
    const { symbol } = await newInstrument(h);
    const account = await fundedAccount(h, { USD: '1000' });
    let fixed = false;
    const poisoned = new Set<string>();
    const def = recorder(account, { maxAttempts: 3 });
    const base = def.handle.bind(def);
    def.handle = async (em, e, l) => {
      const orderId = (e.data as { order: { orderId: string } }).order.orderId;
      if (!fixed && poisoned.has(orderId)) throw new Error(`cannot handle order ${orderId} (a bug)`);
      await base(em, e, l);
    };
    const sub = new Subscriber(def, h.orm, p.messaging, p.topology, logger, { ackWaitMs: 5_000 });
    try {
      const bad = await place(h, account, { symbol, side: 'BUY', quantity: '1', limitPrice: '1', clientOrderId: `bad-${randomUUID()}` });
      poisoned.add(bad.orderId);
      const good = await place(h, account, { symbol, side: 'BUY', quantity: '1', limitPrice: '2' });
      await sub.start();

      // The good order's events flow; the bad order's two events end in the dead letters.
      await eventually(() => effects(def.name), (rows) => rows.filter((r) => r.order_id === good.orderId).length === 2, 30_000);
      const letters = await eventually(() => listDeadLetters(p.messaging, p.topology, def.name), (l) => l.length === 2, 30_000);
      expect(letters.map((l) => [l.eventType, l.deliveryCount])).toEqual([
        ['order.created', 3],
        ['order.accepted', 3],
      ]);
      expect(letters[0].error).toMatch(/cannot handle order .* \(a bug\)/);
      expect((await effects(def.name)).filter((r) => r.order_id === bad.orderId)).toEqual([]);

      // Events after the dead letter keep flowing for the same order too.
      await h.orders.cancel(good.orderId, null, null);
      await eventually(() => effects(def.name), (rows) => rows.some((r) => r.event_type === 'order.cancelled'), 30_000);

      fixed = true;
      expect(await redriveDeadLetters(p.messaging, p.topology, h.orm, { subscriber: def.name })).toBe(2);
      const rows = await eventually(() => effects(def.name), (r) => r.filter((x) => x.order_id === bad.orderId).length === 2, 30_000);
      expect(rows.filter((x) => x.order_id === bad.orderId).map((x) => x.event_type).sort()).toEqual(['order.accepted', 'order.created']);
      expect(await listDeadLetters(p.messaging, p.topology, def.name)).toEqual([]);
    } finally {
      await sub.stop();
    }
  });

  it('a redelivery after the effect committed but before the ack has no second effect', async () => {
    const { symbol } = await newInstrument(h);
    const account = await fundedAccount(h, { USD: '1000' });
    const def = recorder(account);
    const outcomes: string[] = [];
    let crashed = false;
    const sub = new Subscriber(def, h.orm, p.messaging, p.topology, logger, {
      onOutcome: (e, outcome) => {
        if (e.eventType !== 'order.created') return;
        outcomes.push(outcome);
        // The process dies between its commit and its ack: JetStream redelivers the event.
        if (!crashed) {
          crashed = true;
          throw new Error('crash after commit, before ack');
        }
      },
    });
    try {
      await place(h, account, { symbol, side: 'BUY', quantity: '1', limitPrice: '1' });
      await sub.start();
      await eventually(async () => outcomes, (o) => o.length >= 2, 30_000);
      expect(outcomes.slice(0, 2)).toEqual(['applied', 'duplicate']);
      const rows = await eventually(() => effects(def.name), (r) => r.length === 2);
      expect(rows.map((r) => r.event_type)).toEqual(['order.created', 'order.accepted']);
    } finally {
      await sub.stop();
    }
  });

  it('two copies given the same event at the same moment apply it once', async () => {
    const { symbol } = await newInstrument(h);
    const account = await fundedAccount(h, { USD: '1000' });
    const o = await place(h, account, { symbol, side: 'BUY', quantity: '1', limitPrice: '1' });
    const [created] = (await eventually(() => streamEvents(p, 'orders', `orders.created.${account}.${o.orderId}`), (e) => e.length === 1)).map((e) => e.event);
    const def = recorder(account);
    const [a, b] = [1, 2].map(() => new Subscriber(def, h.orm, p.messaging, p.topology, logger));
    const outcomes = await Promise.all([a.process(created, 'stream'), b.process(created, 'stream'), a.process(created, 'stream')]);
    expect(outcomes.sort()).toEqual(['applied', 'duplicate', 'duplicate']);
    expect(await effects(def.name)).toHaveLength(1);
  });

  it('holds back an event that overtakes an earlier one of its aggregate, and applies both in order', async () => {
    const { symbol } = await newInstrument(h);
    const account = await fundedAccount(h, { USD: '1000' });
    const o = await place(h, account, { symbol, side: 'BUY', quantity: '1', limitPrice: '1' });
    const [created, accepted] = (await eventually(() => streamEvents(p, 'orders', `orders.*.${account}.${o.orderId}`), (e) => e.length >= 2)).map((e) => e.event);
    const def = recorder(account);
    const sub = new Subscriber(def, h.orm, p.messaging, p.topology, logger);
    expect(await sub.process(accepted, 'stream')).toBe('held');
    expect(await sub.process(created, 'stream')).toBe('applied');
    expect(await sub.process(created, 'stream')).toBe('duplicate');
    expect(await sub.process(accepted, 'stream')).toBe('applied');
    expect((await effects(def.name)).map((r) => r.sequence)).toEqual([1, 2]);
  });

  it('dead-letters at once an event that does not match its schema', async () => {
    const account = randomUUID();
    const def = recorder(account);
    const sub = new Subscriber(def, h.orm, p.messaging, p.topology, logger);
    try {
      await sub.start();
      const drifted = { eventId: randomUUID(), eventType: 'order.created', eventVersion: 1, timestamp: new Date().toISOString(), source: 'someone-else', correlationId: null, causationId: null, aggregateType: 'order', aggregateId: randomUUID(), sequence: 1, data: { order: { orderId: 'not-a-uuid' } } };
      await p.messaging.js.publish(p.topology.subject(`orders.created.${account}.${drifted.aggregateId}`), JSON.stringify(drifted));
      const [letter] = await eventually(() => listDeadLetters(p.messaging, p.topology, def.name), (l) => l.length === 1);
      expect(letter).toMatchObject({ eventType: 'order.created', eventId: drifted.eventId, deliveryCount: 1 });
      expect(letter.error).toMatch(/^invalid order\.created@1: order\./);
      expect(await effects(def.name)).toEqual([]);
    } finally {
      await sub.stop();
    }
  });
});
