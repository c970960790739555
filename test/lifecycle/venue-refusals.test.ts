/**
 * The simulated venue's refusals on the real path (no fault-injecting adapter): an
 * operator tells the venue, through the API, to refuse a symbol's cancels or to reject
 * its submissions, and the order workflow meets a real venue refusal.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { portfolioSubscriber } from '../../subscribers/portfolio';
import { startApi, type Api } from '../support/api';
import { balances, checkedAccounts, finalOrder, hasStatus, newInstrument, place, statusPath, tick, waitForOrder } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';
import { startPipeline, type Pipeline } from '../support/pipeline';

let h: Harness;
let p: Pipeline;
let api: Api;

beforeAll(async () => {
  h = await startHarness();
  p = await startPipeline(h, { subscribers: [portfolioSubscriber] });
  api = await startApi(h);
});
afterAll(async () => {
  await api?.close();
  await p?.close();
  await h?.close();
});

const account = checkedAccounts(() => h, { portfolio: true });

async function setRules(symbol: string, rules: { refuseCancels: boolean; rejectSubmissions: string | null }) {
  const r = await api.request('PUT', `/market/rules/${symbol}`, { body: rules });
  expect([r.status, r.body]).toEqual([200, { symbol, ...rules }]);
}

describe('the simulated venue refuses, when told to', () => {
  it('a rejected submission: NEW -> REJECTED with the venue\'s reason, nothing left locked', async () => {
    const { symbol } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    await setRules(symbol, { refuseCancels: false, rejectSubmissions: 'instrument halted' });
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100' });
    expect(o.status).toBe('REJECTED');
    expect(o.rejectReason).toBe('VENUE_REJECTED: instrument halted');
    expect(await statusPath(h, o.orderId)).toEqual(['NEW', 'REJECTED']);
    expect(await balances(h, a)).toEqual({ USD: { available: '1000', locked: '0' } });

    await setRules(symbol, { refuseCancels: false, rejectSubmissions: null });
    expect((await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100' })).status).toBe('ACCEPTED');
  });

  it('a refused cancel: ACCEPTED -> PENDING_CANCEL -> ACCEPTED, then PARTIALLY_FILLED -> PENDING_CANCEL -> PARTIALLY_FILLED, then cancelled', async () => {
    const { symbol } = await newInstrument(h);
    const a = await account({ USD: '1000' });
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100' });
    expect(o.status).toBe('ACCEPTED');
    await setRules(symbol, { refuseCancels: true, rejectSubmissions: null });

    const refused = await h.orders.cancel(o.orderId, 'first try', null);
    expect([refused.outcome, refused.order.status]).toEqual(['TOO_LATE', 'ACCEPTED']);
    expect(await balances(h, a)).toEqual({ USD: { available: '900', locked: '100' } });

    // Still resting at the venue: a tick fills part of it.
    await tick(h, symbol, '100', '0.4');
    await waitForOrder(h, o.orderId, hasStatus('PARTIALLY_FILLED'));
    const again = await h.orders.cancel(o.orderId, 'second try', null);
    expect([again.outcome, again.order.status]).toEqual(['TOO_LATE', 'PARTIALLY_FILLED']);

    await setRules(symbol, { refuseCancels: false, rejectSubmissions: null });
    const done = await h.orders.cancel(o.orderId, 'third try', null);
    expect(done.order.status).toBe('CANCELLED');
    expect(await finalOrder(h, o.orderId)).toMatchObject({ status: 'CANCELLED', filledQuantity: '0.4', lockedAmount: '0' });
    expect(await statusPath(h, o.orderId)).toEqual([
      'NEW',
      'ACCEPTED',
      'PENDING_CANCEL',
      'ACCEPTED',
      'PARTIALLY_FILLED',
      'PENDING_CANCEL',
      'PARTIALLY_FILLED',
      'PENDING_CANCEL',
      'CANCELLED',
    ]);
    expect(await balances(h, a)).toEqual({ [symbol.split('-')[0]]: { available: '0.4', locked: '0' }, USD: { available: '960', locked: '0' } });
  });

  it('the rules route: operator only, 400 naming the field, 404 for an unknown symbol', async () => {
    const { symbol } = await newInstrument(h);
    const bad = await api.request('PUT', `/market/rules/${symbol}`, { body: { refuseCancels: 'yes', rejectSubmissions: null } });
    expect([bad.status, bad.headers.get('content-type'), bad.body.errors.map((e: { field: string }) => e.field)]).toEqual([
      400,
      expect.stringMatching(/application\/problem\+json/),
      ['refuseCancels'],
    ]);
    expect((await api.request('PUT', '/market/rules/NOPE-USD', { body: { refuseCancels: true, rejectSubmissions: null } })).status).toBe(404);
    expect((await api.request('PUT', `/market/rules/${symbol}`, { key: null, body: { refuseCancels: true, rejectSubmissions: null } })).status).toBe(401);
    expect((await api.request('GET', `/market/rules/${symbol}`)).body).toEqual({ symbol, refuseCancels: false, rejectSubmissions: null });
  });
});
