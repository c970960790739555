/**
 * Fills as the venue delivers them: a repeated trade id is applied once, an over-fill
 * is refused and reported, and a tick's liquidity goes to resting orders in
 * price-time priority.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import type { OrderClient } from '../../clients/order-client';
import { applyFillUpdate, orderWorkflowId } from '../../workflows/order/definitions';
import { balances, checkedAccounts, hasStatus, newInstrument, orderState, place, tick, waitForOrder } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { portfolioSubscriber } from '../../subscribers/portfolio';
import { recordHistory } from '../support/histories';
import { FillDispatcher } from '../../workers/venue/fill-dispatcher';
import { createLogger } from '../../runtime/logger';
import { reconcileVenue } from '../../venue/simulated/reconciliation';

let h: Harness;
let p: Pipeline;

beforeAll(async () => {
  h = await startHarness();
  // The relay and the portfolio: every scenario also checks the portfolio against the ledger.
  p = await startPipeline(h, { subscribers: [portfolioSubscriber] });
});
afterAll(async () => {
  await p?.close();
  await h?.close();
});

const account = checkedAccounts(() => h, { portfolio: true });

function fill(orderId: string, f: { tradeId?: string; quantity: string; price: string }) {
  return h.client.workflow.getHandle(orderWorkflowId(orderId)).executeUpdate(applyFillUpdate, {
    args: [{ tradeId: f.tradeId ?? randomUUID(), quantity: f.quantity, price: f.price, executedAt: new Date().toISOString() }],
  });
}

describe('fills', () => {
  it('applies a repeated trade id once', async () => {
    const { symbol, base } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '2', limitPrice: '100' });
    const tradeId = randomUUID();
    const first = await fill(o.orderId, { tradeId, quantity: '1', price: '100' });
    const again = await fill(o.orderId, { tradeId, quantity: '1', price: '100' });
    expect(first).toMatchObject({ outcome: 'APPLIED', filledQuantity: '1', status: 'PARTIALLY_FILLED' });
    expect(again).toMatchObject({ outcome: 'DUPLICATE', filledQuantity: '1' });
    expect(await balances(h, a)).toEqual({ USD: { available: '800', locked: '100' }, [base]: { available: '1', locked: '0' } });
    // Sent concurrently, the same trade is still applied once.
    const tradeId2 = randomUUID();
    const both = await Promise.all([fill(o.orderId, { tradeId: tradeId2, quantity: '0.5', price: '100' }), fill(o.orderId, { tradeId: tradeId2, quantity: '0.5', price: '100' })]);
    expect(both.map((r) => r.outcome).sort()).toEqual(['APPLIED', 'DUPLICATE']);
    const s = await waitForOrder(h, o.orderId, (x) => x.fills.length === 2);
    expect(s.filledQuantity).toBe('1.5');
    await h.orders.cancel(o.orderId, null, null);
  });

  it('re-delivers a fill the venue could not hand over, and the order applies it once', async () => {
    const { symbol, base } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100' });
    await tick(h, symbol, '100');
    await waitForOrder(h, o.orderId, hasStatus('FILLED'));
    // As if the dispatcher had crashed after delivering but before marking the fill.
    await h.orm.em.fork().execute(`update venue_fills set delivery = 'PENDING', next_attempt_at = now() where order_id = ?`, [o.orderId]);
    await h.dispatcher.drain();
    const [row] = await h.orm.em.fork().execute<{ delivery: string }[]>('select delivery from venue_fills where order_id = ?', [o.orderId]);
    expect(row.delivery).toBe('DELIVERED');
    expect(await balances(h, a)).toEqual({ USD: { available: '900', locked: '0' }, [base]: { available: '1', locked: '0' } });
  });

  it('delivers an order\'s fills in trade order, also when a delivery fails', async () => {
    const { symbol } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '3', limitPrice: '100' });
    // Three ticks, three fills waiting for delivery (not handed over yet).
    for (const price of ['100', '99', '98']) await h.venue.recordTick({ symbol, price, liquidity: '1' });
    const venueFills = async () =>
      h.orm.em
        .fork()
        .execute<{ trade_id: string; delivery: string; last_error: string | null; waiting: boolean }[]>(
          'select trade_id, delivery, last_error, next_attempt_at > now() as waiting from venue_fills where order_id = ? and not at_submission order by seq',
          [o.orderId],
        );
    // A dispatcher whose first delivery cannot reach Temporal.
    let failures = 1;
    const flaky = {
      applyFill: (...args: Parameters<OrderClient['applyFill']>) =>
        failures-- > 0 ? Promise.reject(new Error('temporal unreachable')) : h.orders.applyFill(...args),
    } as unknown as OrderClient;
    const dispatcher = new FillDispatcher({ orm: h.orm, venueOrm: h.venueOrm }, flaky, createLogger('test', 'silent'), { intervalMs: 60_000 });
    await dispatcher.drain();
    // The first failed: the later two were not delivered past it, and all three wait.
    const after = await venueFills();
    expect(after.map((f) => [f.delivery, f.waiting])).toEqual([
      ['PENDING', true],
      ['PENDING', true],
      ['PENDING', true],
    ]);
    expect(after[0].last_error).toMatch(/temporal unreachable/);
    expect((await orderState(h, o.orderId)).fills).toEqual([]);
    // When they are due again, they arrive in trade order.
    await h.orm.em.fork().execute('update venue_fills set next_attempt_at = now() where order_id = ?', [o.orderId]);
    await dispatcher.drain();
    await dispatcher.stop();
    const filled = await waitForOrder(h, o.orderId, hasStatus('FILLED'));
    expect(filled.fills.map((f) => f.tradeId)).toEqual(after.map((f) => f.trade_id));
    expect(filled.fills.map((f) => f.price)).toEqual(['100', '99', '98']);
  });

  it('the venue process wakes on the tick\'s NOTIFY, without waiting for its poll', async () => {
    const { symbol } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100' });
    const dispatcher = new FillDispatcher({ orm: h.orm, venueOrm: h.venueOrm }, h.orders, createLogger('test', 'silent'), { intervalMs: 600_000, databaseUrl: h.config.DATABASE_URL });
    await dispatcher.start();
    try {
      await dispatcher.drain(); // the first round, which start() kicks, is over
      await h.venue.recordTick({ symbol, price: '100', liquidity: null });
      expect((await waitForOrder(h, o.orderId, hasStatus('FILLED'), 5_000)).filledQuantity).toBe('1');
    } finally {
      await dispatcher.stop();
    }
  });

  it('reconciliation sees the venue: a refused execution and one stuck undelivered show up, a delivered one does not', async () => {
    const { symbol } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '3', limitPrice: '100' });
    await tick(h, symbol, '100', '1'); // delivered and settled
    await waitForOrder(h, o.orderId, (x) => x.fills.length === 1);
    expect(await reconcileVenue(h.orm.em.fork(), a)).toEqual([]);
    const [refused] = await h.venue.recordTick({ symbol, price: '100', liquidity: '1' });
    const [stuck] = await h.venue.recordTick({ symbol, price: '100', liquidity: '1' });
    // As if the order had refused the one, and the other had waited ten minutes for delivery.
    await h.orm.em.fork().execute(`update venue_fills set delivery = 'REFUSED', last_error = 'refused by the order' where trade_id = ?`, [refused.tradeId]);
    await h.orm.em.fork().execute(`update venue_fills set executed_at = now() - interval '10 minutes' where trade_id = ?`, [stuck.tradeId]);
    const found = await reconcileVenue(h.orm.em.fork(), a);
    expect(found.map((v) => [v.check, v.detail.trade_id])).toEqual([
      ['a venue execution was refused by its order', refused.tradeId],
      ['a venue execution is still undelivered', stuck.tradeId],
    ]);
  });

  it('refuses and reports an over-fill, and keeps working', async () => {
    const { symbol } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100' });
    const over = await fill(o.orderId, { quantity: '1.5', price: '100' });
    expect(over).toMatchObject({ outcome: 'REFUSED', status: 'ACCEPTED', filledQuantity: '0' });
    expect(over.reason).toMatch(/over-fill: 1.5 exceeds the 1 left of 1/);
    expect(await balances(h, a)).toEqual({ USD: { available: '900', locked: '100' } });
    const ok = await fill(o.orderId, { quantity: '1', price: '99' });
    expect(ok).toMatchObject({ outcome: 'APPLIED', status: 'FILLED' });
    await recordHistory(h, o.orderId, 'over-fill-refused');
  });

  it('rejects a malformed fill before it reaches the workflow history', async () => {
    const { symbol } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100' });
    await expect(fill(o.orderId, { quantity: '-1', price: '100' })).rejects.toMatchObject({
      cause: { message: 'fill quantity "-1" is not a positive decimal' },
    });
    expect((await waitForOrder(h, o.orderId, hasStatus('ACCEPTED'))).fills).toEqual([]);
    await h.orders.cancel(o.orderId, null, null);
  });

  it('gives a tick its liquidity in price-time priority, at the tick price', async () => {
    const { symbol } = await newInstrument(h);
    const a = await account({ USD: '10000' });
    const older = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '101' });
    const better = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '102' });
    const betterLater = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '102' });
    const notCrossing = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '99' });
    await tick(h, symbol, '100', '1.5');
    expect((await waitForOrder(h, better.orderId, hasStatus('FILLED'))).averageFillPrice).toBe('100');
    expect((await waitForOrder(h, betterLater.orderId, hasStatus('PARTIALLY_FILLED'))).filledQuantity).toBe('0.5');
    await tick(h, symbol, '100', '1');
    expect((await waitForOrder(h, betterLater.orderId, hasStatus('FILLED'))).filledQuantity).toBe('1');
    expect((await waitForOrder(h, older.orderId, hasStatus('PARTIALLY_FILLED'))).filledQuantity).toBe('0.5');
    const untouched = await waitForOrder(h, notCrossing.orderId, hasStatus('ACCEPTED'));
    expect(untouched.fills).toEqual([]);
    // The tick's remaining liquidity (0 now) is what a marketable order meets next.
    const ioc = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '105', timeInForce: 'IOC' });
    expect(ioc).toMatchObject({ status: 'CANCELLED', filledQuantity: '0' });
    for (const o of [older, notCrossing]) await h.orders.cancel(o.orderId, null, null);
  });
});
