/**
 * Every path of the reference's transition table, each on the real dev server, the
 * real database and the simulated venue, with the ledger checked to the last digit
 * and every invariant reconciled after each scenario.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ControlledVenue } from '../support/controlled-venue';
import { balances, checkedAccounts, finalOrder, hasStatus, newInstrument, orderRequest, place, statusPath, tick, waitForOrder } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { portfolioSubscriber } from '../../subscribers/portfolio';
import { recordHistory } from '../support/histories';
import { orderIdFor } from '../../clients/order-client';
import { CANCELLED_BEFORE_ARRIVAL } from '../../venue/simulated/venue';

let h: Harness;
let p: Pipeline;
let venue: ControlledVenue;

beforeAll(async () => {
  h = await startHarness({
    // Short enough for the outage scenarios, long enough for any normal submission.
    config: { ORDER_SUBMISSION_DEADLINE_MS: 5_000 },
    venueAdapter: (real) => {
      venue = new ControlledVenue(real);
      return venue;
    },
  });
  // The relay and the portfolio: every scenario also checks the portfolio against the ledger.
  p = await startPipeline(h, { subscribers: [portfolioSubscriber] });
});
afterAll(async () => {
  await p?.close();
  await h?.close();
});

async function venueDeliveries(orderId: string): Promise<string[]> {
  const rows = await h.orm.em.fork().execute<{ delivery: string }[]>('select delivery from venue_fills where order_id = ? order by seq', [orderId]);
  return rows.map((r) => r.delivery);
}

const account = checkedAccounts(() => h, { portfolio: true });

/** Waits until the workflow has committed the order (its read-model row exists). */
async function waitForRecorded(orderId: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const [row] = await h.orm.em.fork().execute<{ status: string }[]>('select status from orders where id = ?', [orderId]);
    if (row) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`order ${orderId} was never recorded`);
}

describe('from NEW', () => {
  it('NEW -> ACCEPTED: a resting limit order locks quantity x limit', async () => {
    const { symbol } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '2', limitPrice: '150' });
    expect(o).toMatchObject({ status: 'ACCEPTED', lockedAsset: 'USD', lockedAmount: '300', leavesQuantity: '2', filledQuantity: '0' });
    expect(await balances(h, a)).toEqual({ USD: { available: '700', locked: '300' } });
    expect(await statusPath(h, o.orderId)).toEqual(['NEW', 'ACCEPTED']);
  });

  it.each([
    ['unknown symbol', { symbol: 'NOPE-USD' }, 'UNKNOWN_SYMBOL'],
    ['price off the tick', { limitPrice: '100.001' }, 'INVALID_TICK'],
    ['quantity off the lot', { quantity: '1.0005' }, 'INVALID_LOT'],
    ['quantity under the minimum', { quantity: '0.0001' }, 'QUANTITY_BELOW_MINIMUM'],
    ['LIMIT without a price', { limitPrice: null }, 'MISSING_PRICE'],
    ['MARKET with a price', { type: 'MARKET' as const, limitPrice: '100', timeInForce: 'IOC' as const }, 'PRICE_NOT_ALLOWED'],
    ['MARKET good till cancelled', { type: 'MARKET' as const, limitPrice: null, timeInForce: 'GTC' as const }, 'INVALID_TIME_IN_FORCE'],
    ['GTD without expireAt', { timeInForce: 'GTD' as const, expireAt: null }, 'MISSING_EXPIRE_AT'],
    ['GTD in the past', { timeInForce: 'GTD' as const, expireAt: new Date(Date.now() - 60_000).toISOString() }, 'EXPIRE_AT_NOT_FUTURE'],
    ['expireAt on a GTC order', { expireAt: new Date(Date.now() + 60_000).toISOString() }, 'EXPIRE_AT_NOT_ALLOWED'],
  ])('NEW -> REJECTED: %s', async (_name, overrides, code) => {
    const { symbol } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100', ...overrides });
    expect(o.status).toBe('REJECTED');
    expect(o.rejectReason).toMatch(new RegExp(`^${code}: `));
    expect(o).toMatchObject({ leavesQuantity: '0', lockedAmount: '0', filledQuantity: '0' });
    expect(await balances(h, a)).toEqual({ USD: { available: '1000', locked: '0' } });
    expect(await statusPath(h, o.orderId)).toEqual(['NEW', 'REJECTED']);
  });

  it('NEW -> REJECTED: a MARKET order before the first tick has no price', async () => {
    const { symbol } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    const o = await place(h, a, { symbol, side: 'BUY', type: 'MARKET', quantity: '1' });
    expect(o.status).toBe('REJECTED');
    expect(o.rejectReason).toMatch(/^NO_MARKET_PRICE: /);
  });

  it('NEW -> REJECTED: the venue is down past the submission deadline; the lock is released and the venue never takes the order later', async () => {
    const { symbol } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    venue.submissionsDown = true;
    let o;
    try {
      o = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100' });
    } finally {
      venue.submissionsDown = false;
    }
    expect(o).toMatchObject({ status: 'REJECTED', lockedAmount: '0', leavesQuantity: '0' });
    expect(o.rejectReason).toMatch(/^VENUE_UNAVAILABLE: not submitted to the venue by /);
    expect(await balances(h, a)).toEqual({ USD: { available: '1000', locked: '0' } });
    expect(await statusPath(h, o.orderId)).toEqual(['NEW', 'REJECTED']);
    // A submission of it still on its way reaches the venue after it came back: refused.
    const late = await h.venue.submitOrder({ orderId: o.orderId, symbol, side: 'BUY', type: 'LIMIT', timeInForce: 'GTC', quantity: '1', limitPrice: '100', protectionPrice: null });
    expect(late).toMatchObject({ status: 'REJECTED', rejectReason: CANCELLED_BEFORE_ARRIVAL, fills: [] });
    await recordHistory(h, o.orderId, 'venue-down-rejected-at-deadline');
  });

  it('NEW -> CANCELLED: a cancel while NEW, with the venue down at submission, ends the order and releases its lock', async () => {
    const { symbol } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    venue.submissionsDown = true;
    try {
      const request = orderRequest(a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100' });
      const placing = h.orders.place(request, null);
      const orderId = orderIdFor(a, request.clientOrderId);
      await waitForRecorded(orderId);
      // Before this change: refused, "not yet accepted by the venue, try again shortly".
      const cancelled = await h.orders.cancel(orderId, 'venue is down', null);
      expect(cancelled).toMatchObject({ outcome: 'CANCELLED', order: { status: 'CANCELLED', cancelReason: 'venue is down', lockedAmount: '0' } });
      expect((await placing).order.status).toBe('CANCELLED');
      expect(await balances(h, a)).toEqual({ USD: { available: '1000', locked: '0' } });
      expect(await statusPath(h, orderId)).toEqual(['NEW', 'CANCELLED']);
      await recordHistory(h, orderId, 'cancelled-while-new');
    } finally {
      venue.submissionsDown = false;
    }
  });

  it('NEW -> REJECTED: a suspended account cannot trade', async () => {
    const { symbol } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    await h.orm.em.fork().execute(`update accounts set status = 'SUSPENDED' where id = ?`, [a]);
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100' });
    expect(o.rejectReason).toMatch(/^ACCOUNT_INACTIVE: /);
  });

  it('NEW -> REJECTED: insufficient funds, for a BUY (quote) and a SELL (base)', async () => {
    const { symbol, base } = await newInstrument(h);
    const a = await account({ USD: '99.99', [base]: '0.5' });
    const buy = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100' });
    const sell = await place(h, a, { symbol, side: 'SELL', quantity: '1', limitPrice: '100' });
    expect(buy.rejectReason).toMatch(/^INSUFFICIENT_FUNDS: insufficient USD: 100 needed, 99.99 available/);
    expect(sell.rejectReason).toMatch(new RegExp(`^INSUFFICIENT_FUNDS: insufficient ${base}: 1 needed, 0.5 available`));
    expect(await balances(h, a)).toEqual({ USD: { available: '99.99', locked: '0' }, [base]: { available: '0.5', locked: '0' } });
    await recordHistory(h, buy.orderId, 'rejected-insufficient-funds');
  });

  it('NEW -> FILLED: a marketable limit fills at once at the tick price; the improvement is released', async () => {
    const { symbol, base } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    await tick(h, symbol, '95');
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '2', limitPrice: '100' });
    expect(o).toMatchObject({ status: 'FILLED', filledQuantity: '2', leavesQuantity: '0', averageFillPrice: '95', lockedAmount: '0' });
    expect(o.fills).toHaveLength(1);
    expect(await balances(h, a)).toEqual({ USD: { available: '810', locked: '0' }, [base]: { available: '2', locked: '0' } });
    expect(await statusPath(h, o.orderId)).toEqual(['NEW', 'FILLED']);
    await recordHistory(h, o.orderId, 'marketable-limit-filled');
  });

  it('NEW -> FILLED: a MARKET buy locks at the collar and pays the tick price', async () => {
    const { symbol, base } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    await tick(h, symbol, '100');
    const o = await place(h, a, { symbol, side: 'BUY', type: 'MARKET', quantity: '2' });
    expect(o).toMatchObject({ status: 'FILLED', averageFillPrice: '100', lockedAsset: 'USD', lockedAmount: '0' });
    expect(await balances(h, a)).toEqual({ USD: { available: '800', locked: '0' }, [base]: { available: '2', locked: '0' } });
    // The lock was quantity x last price x (1 + 5% collar): 210.
    const [lock] = await h.orm.em
      .fork()
      .execute<{ amount: string }[]>(`select amount from ledger_entries where order_id = ? and kind = 'LOCK' and bucket = 'locked'`, [o.orderId]);
    expect(Number(lock.amount)).toBe(210);
    await recordHistory(h, o.orderId, 'market-buy-filled');
  });

  it('NEW -> PARTIALLY_FILLED: a marketable GTC limit takes the liquidity there is and rests the rest', async () => {
    const { symbol, base } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    await tick(h, symbol, '100', '1');
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '3', limitPrice: '101' });
    expect(o).toMatchObject({ status: 'PARTIALLY_FILLED', filledQuantity: '1', leavesQuantity: '2', lockedAmount: '202' });
    expect(await balances(h, a)).toEqual({ USD: { available: '698', locked: '202' }, [base]: { available: '1', locked: '0' } });
    await tick(h, symbol, '100.5');
    const done = await waitForOrder(h, o.orderId, hasStatus('FILLED'));
    expect(done.averageFillPrice).toBe('100.333333333333333333');
    expect(await balances(h, a)).toEqual({ USD: { available: '699', locked: '0' }, [base]: { available: '3', locked: '0' } });
    expect(await statusPath(h, o.orderId)).toEqual(['NEW', 'PARTIALLY_FILLED', 'FILLED']);
  });

  it('NEW -> CANCELLED: an IOC with nothing to fill', async () => {
    const { symbol } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    await tick(h, symbol, '105');
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100', timeInForce: 'IOC' });
    expect(o).toMatchObject({ status: 'CANCELLED', filledQuantity: '0', leavesQuantity: '0', lockedAmount: '0' });
    expect(o.cancelReason).toMatch(/IOC/);
    expect(await balances(h, a)).toEqual({ USD: { available: '1000', locked: '0' } });
    expect(await statusPath(h, o.orderId)).toEqual(['NEW', 'CANCELLED']);
  });
});

describe('from ACCEPTED and PARTIALLY_FILLED', () => {
  it('partial fills over several ticks, with fees, price improvement and a completing fill', async () => {
    const { symbol, base } = await newInstrument(h, { feeRate: '0.001' });
    const a = await account({ USD: '1000' });
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '3', limitPrice: '100' });
    expect(o).toMatchObject({ status: 'ACCEPTED', lockedAmount: '300.3' });

    await tick(h, symbol, '99', '1');
    let s = await waitForOrder(h, o.orderId, (x) => x.filledQuantity === '1');
    expect(s).toMatchObject({ status: 'PARTIALLY_FILLED', fees: '0.099', lockedAmount: '200.2' });
    expect(await balances(h, a)).toEqual({ USD: { available: '700.701', locked: '200.2' }, [base]: { available: '1', locked: '0' } });

    await tick(h, symbol, '98', '1.5');
    s = await waitForOrder(h, o.orderId, (x) => x.filledQuantity === '2.5');
    expect(s).toMatchObject({ status: 'PARTIALLY_FILLED', lockedAmount: '50.05' });
    expect(await balances(h, a)).toEqual({ USD: { available: '703.704', locked: '50.05' }, [base]: { available: '2.5', locked: '0' } });

    await tick(h, symbol, '100');
    s = await waitForOrder(h, o.orderId, hasStatus('FILLED'));
    expect(s).toMatchObject({ filledQuantity: '3', leavesQuantity: '0', notional: '296', fees: '0.296', averageFillPrice: '98.666666666666666667' });
    expect(s.fills.map((f) => [f.quantity, f.price, f.fee])).toEqual([
      ['1', '99', '0.099'],
      ['1.5', '98', '0.147'],
      ['0.5', '100', '0.05'],
    ]);
    expect(await balances(h, a)).toEqual({ USD: { available: '703.704', locked: '0' }, [base]: { available: '3', locked: '0' } });
    expect(await statusPath(h, o.orderId)).toEqual(['NEW', 'ACCEPTED', 'PARTIALLY_FILLED', 'PARTIALLY_FILLED', 'FILLED']);
    await recordHistory(h, o.orderId, 'partial-fills-with-fees');
  });

  it('ACCEPTED -> FILLED for a SELL: the fee comes out of the proceeds', async () => {
    const { symbol, base } = await newInstrument(h, { feeRate: '0.001' });
    const a = await account({ [base]: '5' });
    const o = await place(h, a, { symbol, side: 'SELL', quantity: '2', limitPrice: '50' });
    expect(await balances(h, a)).toEqual({ [base]: { available: '3', locked: '2' } });
    await tick(h, symbol, '55');
    const s = await waitForOrder(h, o.orderId, hasStatus('FILLED'));
    expect(s).toMatchObject({ averageFillPrice: '55', fees: '0.11' });
    expect(await balances(h, a)).toEqual({ USD: { available: '109.89', locked: '0' }, [base]: { available: '3', locked: '0' } });
    expect(await statusPath(h, o.orderId)).toEqual(['NEW', 'ACCEPTED', 'FILLED']);
  });

  it('ACCEPTED -> PENDING_CANCEL -> CANCELLED releases the whole lock', async () => {
    const { symbol } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '4', limitPrice: '100' });
    const result = await h.orders.cancel(o.orderId, 'changed my mind', null);
    expect(result.outcome).toBe('CANCELLED');
    expect(result.order).toMatchObject({ status: 'CANCELLED', cancelReason: 'changed my mind', leavesQuantity: '0', lockedAmount: '0' });
    expect(await balances(h, a)).toEqual({ USD: { available: '1000', locked: '0' } });
    expect(await statusPath(h, o.orderId)).toEqual(['NEW', 'ACCEPTED', 'PENDING_CANCEL', 'CANCELLED']);
    // The venue no longer matches it.
    await tick(h, symbol, '90');
    expect((await finalOrder(h, o.orderId)).fills).toEqual([]);
    await recordHistory(h, o.orderId, 'accepted-cancelled');
  });

  it('PARTIALLY_FILLED -> PENDING_CANCEL -> CANCELLED releases only what is left', async () => {
    const { symbol, base } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '4', limitPrice: '100' });
    await tick(h, symbol, '100', '1');
    await waitForOrder(h, o.orderId, hasStatus('PARTIALLY_FILLED'));
    const result = await h.orders.cancel(o.orderId, null, null);
    expect(result.order).toMatchObject({ status: 'CANCELLED', filledQuantity: '1', leavesQuantity: '0', lockedAmount: '0' });
    expect(await balances(h, a)).toEqual({ USD: { available: '900', locked: '0' }, [base]: { available: '1', locked: '0' } });
    expect(await statusPath(h, o.orderId)).toEqual(['NEW', 'ACCEPTED', 'PARTIALLY_FILLED', 'PENDING_CANCEL', 'CANCELLED']);
  });

  it('a cancel is refused for a terminal order and for one already pending cancel', async () => {
    const { symbol } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100' });
    const release = venue.holdCancels();
    const first = h.orders.cancel(o.orderId, null, null);
    await waitForOrder(h, o.orderId, hasStatus('PENDING_CANCEL'));
    await expect(h.orders.cancel(o.orderId, null, null)).rejects.toThrow('a cancel is already pending for this order');
    release();
    expect((await first).outcome).toBe('CANCELLED');
    await expect(h.orders.cancel(o.orderId, null, null)).rejects.toThrow('order is already CANCELLED');
  });
});

describe('from PENDING_CANCEL', () => {
  it('PENDING_CANCEL -> FILLED: a fill races the cancel and wins', async () => {
    const { symbol, base } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '2', limitPrice: '100' });
    const release = venue.holdCancels();
    const cancel = h.orders.cancel(o.orderId, null, null);
    await waitForOrder(h, o.orderId, hasStatus('PENDING_CANCEL'));
    await h.venue.recordTick({ symbol, price: '99', liquidity: null }); // fills the order at the venue first
    const delivery = h.dispatcher.drain(); // the fill update waits behind the pending cancel
    release();
    const result = await cancel;
    await delivery;
    expect(result.outcome).toBe('TOO_LATE');
    expect(result.order).toMatchObject({ status: 'FILLED', filledQuantity: '2', averageFillPrice: '99' });
    expect(await balances(h, a)).toEqual({ USD: { available: '802', locked: '0' }, [base]: { available: '2', locked: '0' } });
    expect(await statusPath(h, o.orderId)).toEqual(['NEW', 'ACCEPTED', 'PENDING_CANCEL', 'FILLED']);
    // The fill reached the order twice (cancel answer and update): applied once, never reported refused.
    expect(await venueDeliveries(o.orderId)).toEqual(['DELIVERED']);
    await recordHistory(h, o.orderId, 'cancel-race-fill-wins');
  });

  it('PENDING_CANCEL -> PARTIALLY_FILLED -> CANCELLED: a partial fill lands before the cancel', async () => {
    const { symbol, base } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '2', limitPrice: '100' });
    const release = venue.holdCancels();
    const cancel = h.orders.cancel(o.orderId, null, null);
    await waitForOrder(h, o.orderId, hasStatus('PENDING_CANCEL'));
    await h.venue.recordTick({ symbol, price: '100', liquidity: '0.5' });
    const delivery = h.dispatcher.drain();
    release();
    const result = await cancel;
    await delivery;
    expect(result.outcome).toBe('CANCELLED');
    expect(result.order).toMatchObject({ status: 'CANCELLED', filledQuantity: '0.5', leavesQuantity: '0', lockedAmount: '0' });
    expect(await balances(h, a)).toEqual({ USD: { available: '950', locked: '0' }, [base]: { available: '0.5', locked: '0' } });
    expect(await statusPath(h, o.orderId)).toEqual(['NEW', 'ACCEPTED', 'PENDING_CANCEL', 'PARTIALLY_FILLED', 'CANCELLED']);
    expect(await venueDeliveries(o.orderId)).toEqual(['DELIVERED']);
    await recordHistory(h, o.orderId, 'cancel-race-partial-fill');
  });

  it('PENDING_CANCEL -> ACCEPTED: a cancel the venue refuses returns the order to its previous status', async () => {
    const { symbol } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100' });
    venue.refuseCancels = true;
    try {
      const refused = await h.orders.cancel(o.orderId, null, null);
      expect(refused.outcome).toBe('TOO_LATE');
      expect(refused.order.status).toBe('ACCEPTED');
    } finally {
      venue.refuseCancels = false;
    }
    expect(await balances(h, a)).toEqual({ USD: { available: '900', locked: '100' } });
    const accepted = await h.orders.cancel(o.orderId, null, null);
    expect(accepted.order.status).toBe('CANCELLED');
    expect(await statusPath(h, o.orderId)).toEqual(['NEW', 'ACCEPTED', 'PENDING_CANCEL', 'ACCEPTED', 'PENDING_CANCEL', 'CANCELLED']);
    await recordHistory(h, o.orderId, 'cancel-refused-then-cancelled');
  });

  it('PENDING_CANCEL -> EXPIRED: the time in force runs out before the venue confirms the cancel', async () => {
    const { symbol } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    const expireAt = new Date(Date.now() + 4_000).toISOString();
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100', timeInForce: 'GTD', expireAt });
    const release = venue.holdCancels();
    const cancel = h.orders.cancel(o.orderId, null, null);
    await waitForOrder(h, o.orderId, hasStatus('PENDING_CANCEL'));
    await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(expireAt) - Date.now()) + 700));
    release();
    const result = await cancel;
    expect(result.outcome).toBe('EXPIRED');
    expect(result.order).toMatchObject({ status: 'EXPIRED', lockedAmount: '0' });
    expect(await balances(h, a)).toEqual({ USD: { available: '1000', locked: '0' } });
    expect(await statusPath(h, o.orderId)).toEqual(['NEW', 'ACCEPTED', 'PENDING_CANCEL', 'EXPIRED']);
  });
});
