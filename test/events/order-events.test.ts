/**
 * Lifecycle scenarios produce exactly the expected events, in order, with valid
 * envelopes, on the expected subjects, with Nats-Msg-Id = eventId; a duplicate
 * publish is stored once.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { fundedAccount, hasStatus, newInstrument, place, waitForOrder } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';
import { eventually, startPipeline, streamEvents, type Pipeline } from '../support/pipeline';

let h: Harness;
let p: Pipeline;

beforeAll(async () => {
  h = await startHarness();
  p = await startPipeline(h);
});
afterAll(async () => {
  await p?.close();
  await h?.close();
});

/** The order's events once the relay published `count` of them. */
async function orderEvents(orderId: string, count: number) {
  return eventually(
    () => streamEvents(p, 'orders', `orders.*.*.${orderId}`),
    (e) => e.length >= count,
  );
}

describe('order events', () => {
  it('a partially filled then cancelled order: every state change, in order, gapless, with its funds and trades', async () => {
    const { symbol } = await newInstrument(h, { feeRate: '0.001' });
    const account = await fundedAccount(h, { USD: '1000' });
    const o = await place(h, account, { symbol, side: 'BUY', quantity: '2', limitPrice: '100' });
    await h.venue.recordTick({ symbol, price: '99', liquidity: '0.5' }, 'tick-request-1');
    await h.dispatcher.drain();
    await waitForOrder(h, o.orderId, hasStatus('PARTIALLY_FILLED'));
    await h.orders.cancel(o.orderId, 'enough', { correlationId: 'cancel-request-1', traceId: '4bf92f3577b34da6a3ce929d0e0e4736' });

    const events = await orderEvents(o.orderId, 5);
    expect(events.map((e) => e.event.eventType)).toEqual(['order.created', 'order.accepted', 'order.partially_filled', 'order.cancel_requested', 'order.cancelled']);
    expect(events.map((e) => e.event.sequence)).toEqual([1, 2, 3, 4, 5]);
    for (const e of events) {
      expect(e.msgId).toBe(e.event.eventId);
      expect(e.subject).toBe(`orders.${e.event.eventType.split('.')[1]}.${account}.${o.orderId}`);
      expect(e.event).toMatchObject({ eventVersion: 2, source: 'order-service', aggregateType: 'order', aggregateId: o.orderId });
    }
    const [created, accepted, partial, requested, cancelled] = events.map((e) => e.event) as any[];
    expect(created.data.order).toMatchObject({ status: 'NEW', version: 1 });
    expect(accepted.data.order).toMatchObject({ status: 'ACCEPTED', lockedAmount: '200.2' });
    expect(partial.data).toMatchObject({ order: { status: 'PARTIALLY_FILLED', filledQuantity: '0.5' }, fill: { quantity: '0.5', price: '99' } });
    // The fill travels as the event's own fill, not as the order's list (size does not grow with fills).
    expect(partial.data.order).not.toHaveProperty('fills');
    expect(partial).toMatchObject({ correlationId: 'tick-request-1', causationId: `trade:${partial.data.fill.tradeId}` });
    expect(requested).toMatchObject({ correlationId: 'cancel-request-1', traceId: '4bf92f3577b34da6a3ce929d0e0e4736', data: { reason: 'enough' } });
    expect(cancelled.data).toMatchObject({ order: { status: 'CANCELLED', lockedAmount: '0' }, reason: 'enough' });

    const trades = await eventually(() => streamEvents(p, 'trades', `trades.executed.${account}.>`), (e) => e.length >= 1);
    expect(trades.map((t) => t.event)).toEqual([
      expect.objectContaining({
        eventType: 'trade.executed',
        aggregateType: 'trades',
        aggregateId: account,
        sequence: 1,
        causationId: partial.eventId,
        data: expect.objectContaining({ orderId: o.orderId, quantity: '0.5', price: '99', notional: '49.5', fee: '0.0495', feeAsset: 'USD', side: 'BUY', symbol }),
      }),
    ]);

    const funds = await eventually(() => streamEvents(p, 'funds', `funds.*.${account}`), (e) => e.length >= 5);
    expect(funds.map((f) => [f.event.eventType, f.event.sequence, (f.event.data as any).amount])).toEqual([
      ['funds.deposited', 1, '1000'],
      ['funds.locked', 2, '200.2'],
      ['funds.released', 3, '0.5005'], // price improvement on the fill: 0.5 x (100 - 99) x 1.001
      ['funds.settled', 4, undefined], // the fill's whole settlement, last of its ledger transaction
      ['funds.released', 5, '150.15'], // what the cancelled order still held
    ]);
    expect((funds[2].event.data as any).tradeId).toBe(partial.data.fill.tradeId);
    expect(funds[3].event.data).toEqual({
      ...(trades[0].event.data as object),
      // 49.5 + 0.0495 consumed and 0.5005 released from the 50.05 locked for 0.5; 0.5 of the base credited
      movements: [
        { asset: (trades[0].event.data as any).baseAsset, available: '0.5', locked: '0' },
        { asset: 'USD', available: '0.5005', locked: '-50.05' },
      ].sort((x, y) => (x.asset < y.asset ? -1 : 1)),
    });
    expect((funds[4].event.data as any).reason).toBe('order cancelled');
    expect((funds[4].event.data as any).tradeId).toBeUndefined();
  });

  it('a rejected order and a FOK kill', async () => {
    const { symbol } = await newInstrument(h);
    const account = await fundedAccount(h, { USD: '10' });
    const rejected = await place(h, account, { symbol, side: 'BUY', quantity: '1', limitPrice: '100' });
    const rejectedEvents = await orderEvents(rejected.orderId, 2);
    expect(rejectedEvents.map((e) => e.event.eventType)).toEqual(['order.created', 'order.rejected']);
    expect((rejectedEvents[1].event.data as any).reason).toMatch(/^INSUFFICIENT_FUNDS/);

    await h.venue.recordTick({ symbol, price: '5', liquidity: '0.5' });
    const killed = await place(h, account, { symbol, side: 'BUY', quantity: '1', limitPrice: '5', timeInForce: 'FOK' });
    expect(killed.status).toBe('CANCELLED');
    expect((await orderEvents(killed.orderId, 2)).map((e) => e.event.eventType)).toEqual(['order.created', 'order.cancelled']);
  });

  it('JetStream stores a duplicate publish (same Nats-Msg-Id) once', async () => {
    const subject = p.topology.subject(`accounts.created.${randomUUID()}`);
    const msgID = randomUUID();
    const first = await p.messaging.js.publish(subject, '{}', { msgID });
    const again = await p.messaging.js.publish(subject, '{}', { msgID });
    expect(first.duplicate).toBe(false);
    expect(again).toMatchObject({ duplicate: true, seq: first.seq });
  });
});
