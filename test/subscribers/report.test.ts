/**
 * The report subscriber on the real stack (Temporal, PostgreSQL, JetStream, the Koa
 * API): a day of orders gives exact hand-computed numbers, a rebuild from the streams
 * reproduces the live report, redelivery has one effect, and the endpoint's
 * validation and access rules. Plus the average cost arithmetic on its own.
 *
 * Other test files may run copies of the report subscriber, and the rebuild replays
 * every account's events: assertions are only about this file's accounts. "Today"
 * is the UTC day at the start of a scenario (a run across UTC midnight would fail).
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { str } from '../../domain/decimal';
import { createAccount, deposit } from '../../activities/accounts';
import { createLogger } from '../../runtime/logger';
import { reportSubscriber } from '../../subscribers/report';
import { rebuildReport } from '../../subscribers/report/rebuild';
import { startApi, type Api } from '../support/api';
import { fundedAccount, hasStatus, newInstrument, place, tick, waitForOrder } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';
import { eventually, startPipeline, streamEvents, type Pipeline } from '../support/pipeline';

let h: Harness;
let p: Pipeline;
let api: Api;
const logger = createLogger('report-test', 'silent');

beforeAll(async () => {
  h = await startHarness();
  p = await startPipeline(h, { subscribers: [reportSubscriber] });
  api = await startApi(h);
});
afterAll(async () => {
  await api?.close();
  await p?.close();
  await h?.close();
});

const utcToday = () => new Date().toISOString().slice(0, 10);

function report(accountId: string, date: string, key?: string | null) {
  return api.request('GET', `/reports/accounts/${accountId}?date=${encodeURIComponent(date)}`, { key });
}

/** Waits until the account's report for the day is exactly `expected` (the subscriber is asynchronous). */
async function expectReport(accountId: string, date: string, expected: unknown): Promise<void> {
  const last = await eventually(
    () => report(accountId, date),
    (r) => r.status === 200 && JSON.stringify(r.body) === JSON.stringify(expected),
    // The report's consumers may start with the backlog of every test file before this one (orders and funds streams).
    90_000,
  ).catch(async () => report(accountId, date));
  expect(last.status).toBe(200);
  expect(last.body).toEqual(expected);
}

async function positionRow(accountId: string, symbol: string) {
  const [row] = await h.orm.em
    .fork()
    .execute<{ net_quantity: string; average_cost: string }[]>('select net_quantity, average_cost from report_positions where account_id = ? and symbol = ?', [
      accountId,
      symbol,
    ]);
  return row ? { netQuantity: str(row.net_quantity), averageCost: str(row.average_cost) } : null;
}

/** Scenario 1 (test 1), used again by the later tests. */
const day1 = { account: '', symbol: '', date: '', expected: {} as Record<string, unknown>, firstOrderId: '' };
/** Scenario 2 (the rebuild test). */
const day2 = { account: '', symbol: '', date: '', expected: {} as Record<string, unknown> };

describe('report subscriber', () => {
  it('a day of orders: outcomes, quantities, notionals, fees and realized P&L, exactly', async () => {
    const { symbol } = await newInstrument(h, { feeRate: '0.001' });
    const account = await fundedAccount(h, { USD: '10000' });
    const date = utcToday();

    // A: BUY 2 @ 100 (GTC), filled in two parts. B: BUY 1 @ 50, rests, then cancelled.
    const a = await place(h, account, { symbol, side: 'BUY', quantity: '2', limitPrice: '100' });
    const b = await place(h, account, { symbol, side: 'BUY', quantity: '1', limitPrice: '50' });
    await tick(h, symbol, '100', '1'); // A: 1 @ 100, fee 0.1
    await waitForOrder(h, a.orderId, hasStatus('PARTIALLY_FILLED'));
    await tick(h, symbol, '98', '1'); // A: 1 @ 98, fee 0.098
    await waitForOrder(h, a.orderId, hasStatus('FILLED'));
    await h.orders.cancel(b.orderId, 'changed my mind', null);
    await waitForOrder(h, b.orderId, hasStatus('CANCELLED'));

    // C: BUY 1000 @ 100 needs 100100 USD: rejected.
    const c = await place(h, account, { symbol, side: 'BUY', quantity: '1000', limitPrice: '100' });
    expect(c.status).toBe('REJECTED');
    expect(c.rejectReason).toMatch(/^INSUFFICIENT_FUNDS/);

    // D: IOC BUY 2 @ 100 against 0.5 left at 97: 0.5 @ 97 (fee 0.0485), the rest cancelled.
    await tick(h, symbol, '97', '0.5');
    const d = await place(h, account, { symbol, side: 'BUY', quantity: '2', limitPrice: '100', timeInForce: 'IOC' });
    expect(await waitForOrder(h, d.orderId, hasStatus('CANCELLED'))).toMatchObject({ filledQuantity: '0.5' });

    // E: SELL 1.5 @ 110 rests, then fills at 110 (fee 0.165).
    const e = await place(h, account, { symbol, side: 'SELL', quantity: '1.5', limitPrice: '110' });
    await tick(h, symbol, '110');
    await waitForOrder(h, e.orderId, hasStatus('FILLED'));

    // Average cost: after A, (100 + 0.1 + 98 + 0.098) / 2 = 198.198 / 2 = 99.099;
    // after D, (198.198 + 48.5 + 0.0485) / 2.5 = 246.7465 / 2.5 = 98.6986.
    // E realizes 1.5 x (110 - 98.6986) - 0.165 = 16.9521 - 0.165 = 16.7871.
    // Bought 2 + 0.5 = 2.5 for 100 + 98 + 48.5 = 246.5; sold 1.5 for 165;
    // fees 0.1 + 0.098 + 0.0485 + 0.165 = 0.4115.
    const expected = {
      accountId: account,
      date,
      orders: { created: 5, filled: 2, cancelled: 2, expired: 0, rejected: 1 },
      symbols: [
        {
          symbol,
          quoteAsset: 'USD',
          buyQuantity: '2.5',
          sellQuantity: '1.5',
          buyNotional: '246.5',
          sellNotional: '165',
          fees: '0.4115',
          realizedPnl: '16.7871',
          depositQuantity: '0',
          withdrawalQuantity: '0',
          trades: 4,
        },
      ],
      totals: { fees: { USD: '0.4115' }, realizedPnl: { USD: '16.7871' } },
    };
    await expectReport(account, date, expected);
    // 1 left at the same average cost.
    expect(await positionRow(account, symbol)).toEqual({ netQuantity: '1', averageCost: '98.6986' });
    Object.assign(day1, { account, symbol, date, expected, firstOrderId: a.orderId });
  });

  it('another date reads as zeros; a bad date is 400; another account is 403, no key 401, unknown account 404', async () => {
    expect(day1.account).not.toBe('');
    const other = await report(day1.account, '2001-01-01');
    expect(other.status).toBe(200);
    expect(other.body).toEqual({
      accountId: day1.account,
      date: '2001-01-01',
      orders: { created: 0, filled: 0, cancelled: 0, expired: 0, rejected: 0 },
      symbols: [],
      totals: { fees: {}, realizedPnl: {} },
    });

    for (const bad of ['2026-02-30', '2026-1-5', 'today', '']) {
      const r = await report(day1.account, bad);
      expect(r.status).toBe(400);
      expect(r.headers.get('content-type')).toMatch(/application\/problem\+json/);
      expect(r.body.errors.map((x: { field: string }) => x.field)).toEqual(['date']);
    }
    const missing = await api.request('GET', `/reports/accounts/${day1.account}`);
    expect(missing.status).toBe(400);
    expect(missing.body.errors.map((x: { field: string }) => x.field)).toEqual(['date']);
    const badId = await report('not-a-uuid', day1.date);
    expect(badId.status).toBe(400);
    expect(badId.body.errors.map((x: { field: string }) => x.field)).toEqual(['id']);

    const ctx = { correlationId: `test-${randomUUID()}`, causationId: null };
    const stranger = await createAccount(h.orm.em.fork(), 'stranger', ctx);
    expect((await report(day1.account, day1.date, stranger.apiKey)).status).toBe(403);
    expect((await report(day1.account, day1.date, null)).status).toBe(401);
    expect((await report(day1.account, day1.date, 'oms_not-a-key')).status).toBe(401);
    const own = await report(stranger.id, day1.date, stranger.apiKey);
    expect(own.status).toBe(200);
    expect(own.body.orders).toEqual({ created: 0, filled: 0, cancelled: 0, expired: 0, rejected: 0 });
    expect((await report(randomUUID(), day1.date)).status).toBe(404);
  });

  it('a redelivered event has one effect', async () => {
    expect(day1.account).not.toBe('');
    const sub = p.subscribers.get('report')!;
    const [trade] = await streamEvents(p, 'funds', `funds.settled.${day1.account}`);
    const [created] = await streamEvents(p, 'orders', `orders.created.${day1.account}.${day1.firstOrderId}`);
    expect(trade.event.eventType).toBe('funds.settled');
    expect(created.event.eventType).toBe('order.created');
    expect(await sub.process(trade.event, 'stream')).toBe('duplicate');
    expect(await sub.process(trade.event, 'stream')).toBe('duplicate');
    expect(await sub.process(created.event, 'stream')).toBe('duplicate');
    expect(await sub.process(trade.event, 'redrive')).toBe('duplicate');
    const r = await report(day1.account, day1.date);
    expect(r.body).toEqual(day1.expected);
  });

  it('a report rebuild equals the live report', async () => {
    expect(day1.account).not.toBe('');
    // Scenario 2: base deposited at a declared cost, then sold beyond what was bought
    // (never a short: the deposit is part of the position), each order a marketable
    // limit filled at the tick.
    const { symbol, base } = await newInstrument(h, { feeRate: '0.001' });
    const account = await fundedAccount(h, { USD: '1000' });
    const ctx = { correlationId: `test-${randomUUID()}`, causationId: null };
    await deposit(h.orm.em.fork(), { accountId: account, asset: base, amount: '5', reference: 'in', costBasis: '100.1' }, ctx); // long 5 @ 100.1
    const date = utcToday();
    for (const [side, quantity, price] of [
      ['BUY', '1', '100'], // long 6 @ (5 x 100.1 + 100 + 0.1) / 6 = 100.1
      ['SELL', '3', '110'], // 3 x (110 - 100.1) - 0.33 = 29.37; long 3 @ 100.1
      ['BUY', '3', '105'], // long 6 @ (300.3 + 315 + 0.315) / 6 = 102.6025
      ['SELL', '1', '106'], // 1 x (106 - 102.6025) - 0.106 = 3.2915; long 5 @ 102.6025
    ] as const) {
      await tick(h, symbol, price);
      const o = await place(h, account, { symbol, side, quantity, limitPrice: price });
      await waitForOrder(h, o.orderId, hasStatus('FILLED'));
    }
    // P&L 29.37 + 3.2915 = 32.6615.
    const expected = {
      accountId: account,
      date,
      orders: { created: 4, filled: 4, cancelled: 0, expired: 0, rejected: 0 },
      symbols: [
        {
          symbol,
          quoteAsset: 'USD',
          buyQuantity: '4',
          sellQuantity: '4',
          buyNotional: '415',
          sellNotional: '436',
          fees: '0.851',
          realizedPnl: '32.6615',
          depositQuantity: '5',
          withdrawalQuantity: '0',
          trades: 4,
        },
      ],
      totals: { fees: { USD: '0.851' }, realizedPnl: { USD: '32.6615' } },
    };
    await expectReport(account, date, expected);
    expect(await positionRow(account, symbol)).toEqual({ netQuantity: '5', averageCost: '102.6025' });
    Object.assign(day2, { account, symbol, date, expected });

    const live = [
      { ...day1, body: (await report(day1.account, day1.date)).body, position: await positionRow(day1.account, day1.symbol) },
      { ...day2, body: (await report(day2.account, day2.date)).body, position: await positionRow(day2.account, day2.symbol) },
    ];
    expect(live.map((l) => l.body)).toEqual([day1.expected, day2.expected]);

    // The runner's rebuild, with the live subscriber still running.
    const first = await p.subscribers.get('report')!.rebuild();
    expect(first.replayed).toBeGreaterThanOrEqual(5 * 2 + 4 * 2); // at least this file's orders' events and trades
    for (const l of live) {
      await expectReport(l.account, l.date, l.body);
      expect(await positionRow(l.account, l.symbol)).toEqual(l.position);
    }

    // The command's own path (scripts/rebuild-report.ts calls rebuildReport).
    const second = await rebuildReport({ orm: h.orm, messaging: p.messaging, topology: p.topology, logger });
    expect(second.replayed).toBeGreaterThanOrEqual(first.replayed);
    for (const l of live) {
      await expectReport(l.account, l.date, l.body);
      expect(await positionRow(l.account, l.symbol)).toEqual(l.position);
    }
  });
});
