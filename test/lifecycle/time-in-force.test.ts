/** IOC, FOK, GTD and DAY, with real durable timers of a few seconds. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { balances, checkedAccounts, finalOrder, hasStatus, newInstrument, place, statusPath, tick, waitForOrder } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';
import { startPipeline, type Pipeline } from '../support/pipeline';
import { portfolioSubscriber } from '../../subscribers/portfolio';
import { recordHistory } from '../support/histories';

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

describe('IOC', () => {
  it('fills what is available now and cancels the rest', async () => {
    const { symbol, base } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    await tick(h, symbol, '100', '0.4');
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100', timeInForce: 'IOC' });
    expect(o).toMatchObject({ status: 'CANCELLED', filledQuantity: '0.4', leavesQuantity: '0', lockedAmount: '0' });
    expect(await balances(h, a)).toEqual({ USD: { available: '960', locked: '0' }, [base]: { available: '0.4', locked: '0' } });
    expect(await statusPath(h, o.orderId)).toEqual(['NEW', 'PARTIALLY_FILLED', 'CANCELLED']);
    await recordHistory(h, o.orderId, 'ioc-partial');
  });

  it('a MARKET sell takes the liquidity there is, down to its collar, and cancels the rest', async () => {
    const { symbol, base } = await newInstrument(h);
    const a = await account({ [base]: '2' });
    await tick(h, symbol, '100', '1');
    const o = await place(h, a, { symbol, side: 'SELL', type: 'MARKET', quantity: '2' });
    expect(o).toMatchObject({ status: 'CANCELLED', filledQuantity: '1', averageFillPrice: '100' });
    expect(await balances(h, a)).toEqual({ USD: { available: '100', locked: '0' }, [base]: { available: '1', locked: '0' } });
  });
});

describe('FOK', () => {
  it('kills an order that cannot fill in full: no fills at all', async () => {
    const { symbol } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    await tick(h, symbol, '100', '1.5');
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '2', limitPrice: '100', timeInForce: 'FOK' });
    expect(o).toMatchObject({ status: 'CANCELLED', filledQuantity: '0', fills: [] });
    expect(o.cancelReason).toMatch(/FOK/);
    expect(await balances(h, a)).toEqual({ USD: { available: '1000', locked: '0' } });
    expect(await statusPath(h, o.orderId)).toEqual(['NEW', 'CANCELLED']);
    await recordHistory(h, o.orderId, 'fok-killed');
  });

  it('fills an order that can fill in full', async () => {
    const { symbol, base } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    await tick(h, symbol, '100', '2');
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '2', limitPrice: '100', timeInForce: 'FOK' });
    expect(o).toMatchObject({ status: 'FILLED', filledQuantity: '2' });
    expect(await balances(h, a)).toEqual({ USD: { available: '800', locked: '0' }, [base]: { available: '2', locked: '0' } });
  });
});

describe('GTD', () => {
  it('ACCEPTED -> EXPIRED at expireAt, releasing the lock', async () => {
    const { symbol } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    const expireAt = new Date(Date.now() + 2_000).toISOString();
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100', timeInForce: 'GTD', expireAt });
    expect(o).toMatchObject({ status: 'ACCEPTED', expireAt });
    const done = await finalOrder(h, o.orderId);
    expect(done).toMatchObject({ status: 'EXPIRED', lockedAmount: '0', leavesQuantity: '0' });
    expect(Date.parse(done.updatedAt)).toBeGreaterThanOrEqual(Date.parse(expireAt));
    expect(await balances(h, a)).toEqual({ USD: { available: '1000', locked: '0' } });
    expect(await statusPath(h, o.orderId)).toEqual(['NEW', 'ACCEPTED', 'EXPIRED']);
    // Expired at the venue too: a later tick matches nothing.
    await tick(h, symbol, '90');
    const [venueOrder] = await h.orm.em.fork().execute<{ status: string }[]>('select status from venue_orders where order_id = ?', [o.orderId]);
    expect(venueOrder.status).toBe('CANCELLED');
    await recordHistory(h, o.orderId, 'gtd-expired');
  });

  it('PARTIALLY_FILLED -> EXPIRED keeps the fills and releases the rest', async () => {
    const { symbol, base } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    const expireAt = new Date(Date.now() + 4_000).toISOString();
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '2', limitPrice: '100', timeInForce: 'GTD', expireAt });
    await tick(h, symbol, '100', '0.5');
    await waitForOrder(h, o.orderId, hasStatus('PARTIALLY_FILLED'));
    const done = await finalOrder(h, o.orderId);
    expect(done).toMatchObject({ status: 'EXPIRED', filledQuantity: '0.5', lockedAmount: '0' });
    expect(await balances(h, a)).toEqual({ USD: { available: '950', locked: '0' }, [base]: { available: '0.5', locked: '0' } });
    expect(await statusPath(h, o.orderId)).toEqual(['NEW', 'ACCEPTED', 'PARTIALLY_FILLED', 'EXPIRED']);
  });
});

describe('DAY', () => {
  it('expires at the configured session close', async () => {
    // A session that closes a few seconds from now (TRADING_DAY_CLOSE_UTC is HH:MM:SS UTC).
    const close = new Date(Math.ceil((Date.now() + 6_000) / 1000) * 1000);
    const day = await startHarness({ config: { TRADING_DAY_CLOSE_UTC: close.toISOString().slice(11, 19) } });
    try {
      const { symbol } = await newInstrument(day);
      const b = await account({ USD: '1000' });
      const placed = await place(day, b, { symbol, side: 'BUY', quantity: '1', limitPrice: '100', timeInForce: 'DAY' });
      expect(placed).toMatchObject({ status: 'ACCEPTED', expireAt: close.toISOString() });
      const done = await finalOrder(day, placed.orderId);
      expect(done.status).toBe('EXPIRED');
      expect(Date.parse(done.updatedAt)).toBeGreaterThanOrEqual(close.getTime());
      expect(await balances(day, b)).toEqual({ USD: { available: '1000', locked: '0' } });
      await recordHistory(day, placed.orderId, 'day-expired');
    } finally {
      await day.close();
    }
  });
});
