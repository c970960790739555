/**
 * The portfolio subscriber on the real stack (orders through Temporal, the ledger in
 * PostgreSQL, events through the outbox relay and JetStream): exact positions and cash
 * computed by hand, the projection agreeing with the ledger after every scenario, the
 * API, and one effect per event however often it is delivered. The position method
 * itself (average cost, long and short) is also checked directly, without the stack.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { deposit, withdraw } from '../../activities/accounts';
import { portfolioSubscriber } from '../../subscribers/portfolio';
import { startApi, type Api } from '../support/api';
import { expectLedgerInvariants, finalOrder, fundedAccount, hasStatus, newInstrument, place, sleep, tick, waitForOrder } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';
import { eventually, startPipeline, streamEvents, type Pipeline } from '../support/pipeline';
import { expectPortfolioMatchesLedger } from '../support/portfolio-check';

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

const ctx = () => ({ correlationId: `test-${randomUUID()}`, causationId: null });

async function getPortfolio(accountId: string, key?: string | null) {
  return api.request('GET', `/accounts/${accountId}/portfolio`, key === undefined ? {} : { key });
}

function matches(actual: unknown, expected: unknown): boolean {
  try {
    expect(actual).toEqual(expected);
    return true;
  } catch {
    return false;
  }
}

/** Waits (up to 20 s) for the account's portfolio to be exactly `expected`, then asserts it (showing the diff). */
async function expectPortfolio(accountId: string, expectedFields: Record<string, unknown>): Promise<void> {
  // What the answer reflects and the equity are checked where a test states them.
  const expected = { asOf: expect.objectContaining({ sequence: expect.any(Number) }), equity: expect.any(Object), ...expectedFields };
  const deadline = Date.now() + 20_000;
  let body = (await getPortfolio(accountId)).body;
  while (!matches(body, expected) && Date.now() < deadline) {
    await sleep(200);
    body = (await getPortfolio(accountId)).body;
  }
  expect(body).toEqual(expected);
}

describe('portfolio positions equal what the ledger implies after every scenario', () => {
  it('deposits, a withdrawal, a BUY in two partial fills with fees, a partial SELL, a cancelled order, an open order', async () => {
    const { symbol, base } = await newInstrument(h, { feeRate: '0.001' });
    const a = await fundedAccount(h, { USD: '1000' });
    await deposit(h.orm.em.fork(), { accountId: a, asset: 'USD', amount: '200', reference: 'second' }, ctx());
    await withdraw(h.orm.em.fork(), { accountId: a, asset: 'USD', amount: '300', reference: 'out' }, ctx());
    // USD: 1000 + 200 - 300 = 900

    // BUY 2 @ 100 locks 2 x 100 x 1.001 = 200.2 USD.
    const buy = await place(h, a, { symbol, side: 'BUY', quantity: '2', limitPrice: '100' });
    await tick(h, symbol, '99', '0.5');
    await waitForOrder(h, buy.orderId, hasStatus('PARTIALLY_FILLED'));
    // fill 1: 0.5 @ 99, notional 49.5, fee 0.0495
    await tick(h, symbol, '98', '1.5');
    await waitForOrder(h, buy.orderId, hasStatus('FILLED'));
    // fill 2: 1.5 @ 98, notional 147, fee 0.147
    // cost basis = 49.5 + 0.0495 + 147 + 0.147 = 196.6965; average = 196.6965 / 2 = 98.34825

    // SELL 0.5 @ 105: notional 52.5, fee 0.0525
    const sell = await place(h, a, { symbol, side: 'SELL', quantity: '0.5', limitPrice: '105' });
    await tick(h, symbol, '105');
    await waitForOrder(h, sell.orderId, hasStatus('FILLED'));
    // realized = 0.5 x (105 - 98.34825) - 0.0525 = 3.325875 - 0.0525 = 3.273375

    // A BUY that never fills (locks 50.05 USD), cancelled: its lock is released in full.
    const cancelled = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '50' });
    await waitForOrder(h, cancelled.orderId, hasStatus('ACCEPTED'));
    await h.orders.cancel(cancelled.orderId, 'changed my mind', null);
    await waitForOrder(h, cancelled.orderId, hasStatus('CANCELLED'));

    // A SELL left open: it holds 0.5 of the base.
    const open = await place(h, a, { symbol, side: 'SELL', quantity: '0.5', limitPrice: '200' });
    await waitForOrder(h, open.orderId, hasStatus('ACCEPTED'));

    await expectPortfolio(a, {
      accountId: a,
      cash: [
        // base: 2 bought - 0.5 sold = 1.5; 0.5 locked by the open SELL
        { asset: base, total: '1.5', locked: '0.5', available: '1' },
        // USD: 900 - 196.6965 (BUY incl. fees) + 52.5 - 0.0525 (SELL proceeds less fee) = 755.751; nothing locked
        { asset: 'USD', total: '755.751', locked: '0', available: '755.751' },
      ].sort((x, y) => (x.asset < y.asset ? -1 : 1)),
      positions: [
        {
          symbol,
          baseAsset: base,
          quoteAsset: 'USD',
          netQuantity: '1.5',
          averageCost: '98.34825',
          costSource: 'trades',
          realizedPnl: '3.273375',
          fees: '0.249', // 0.0495 + 0.147 + 0.0525
          marketPrice: '105',
          marketPriceAt: expect.any(String),
          unrealizedPnl: '9.977625', // 1.5 x (105 - 98.34825) = 1.5 x 6.65175
        },
      ],
    });
    await expectPortfolioMatchesLedger(h, a);

    await h.orders.cancel(open.orderId, 'done', null);
    await waitForOrder(h, open.orderId, hasStatus('CANCELLED'));
    await expectPortfolioMatchesLedger(h, a);
    const after = (await getPortfolio(a)).body;
    expect(after.cash.find((c: any) => c.asset === base)).toEqual({ asset: base, total: '1.5', locked: '0', available: '1.5' });
    await expectLedgerInvariants(h, a);
  });

  it('MARKET orders: a BUY, then a SELL at a loss after fees', async () => {
    const { symbol, base } = await newInstrument(h, { feeRate: '0.001' });
    const a = await fundedAccount(h, { USD: '1000' });
    await tick(h, symbol, '100');
    // MARKET BUY 2: locks at the collar price, fills 2 @ 100 (fee 0.2), releases the rest.
    const buy = await place(h, a, { symbol, side: 'BUY', type: 'MARKET', quantity: '2' });
    expect(buy.status).toBe('FILLED');
    // MARKET SELL 0.5: fills @ 100 (fee 0.05).
    const sell = await place(h, a, { symbol, side: 'SELL', type: 'MARKET', quantity: '0.5' });
    expect(sell.status).toBe('FILLED');

    await expectPortfolio(a, {
      accountId: a,
      cash: [
        { asset: base, total: '1.5', locked: '0', available: '1.5' },
        // 1000 - 200.2 + 50 - 0.05
        { asset: 'USD', total: '849.75', locked: '0', available: '849.75' },
      ].sort((x, y) => (x.asset < y.asset ? -1 : 1)),
      positions: [
        {
          symbol,
          baseAsset: base,
          quoteAsset: 'USD',
          netQuantity: '1.5',
          averageCost: '100.1', // (200 + 0.2) / 2
          costSource: 'trades',
          realizedPnl: '-0.1', // 0.5 x (100 - 100.1) - 0.05
          fees: '0.25',
          marketPrice: '100',
          marketPriceAt: expect.any(String),
          unrealizedPnl: '-0.15', // 1.5 x (100 - 100.1)
        },
      ],
    });
    await expectPortfolioMatchesLedger(h, a);
    await expectLedgerInvariants(h, a);
  });

  it('an IOC BUY partially filled: the rest is cancelled and its lock released', async () => {
    const { symbol, base } = await newInstrument(h, { feeRate: '0.001' });
    const a = await fundedAccount(h, { USD: '1000' });
    await tick(h, symbol, '100', '0.4');
    const o = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100', timeInForce: 'IOC' });
    expect(o).toMatchObject({ status: 'CANCELLED', filledQuantity: '0.4' });

    await expectPortfolio(a, {
      accountId: a,
      cash: [
        { asset: base, total: '0.4', locked: '0', available: '0.4' },
        { asset: 'USD', total: '959.96', locked: '0', available: '959.96' }, // 1000 - 40 - 0.04
      ].sort((x, y) => (x.asset < y.asset ? -1 : 1)),
      positions: [
        {
          symbol,
          baseAsset: base,
          quoteAsset: 'USD',
          netQuantity: '0.4',
          averageCost: '100.1', // (40 + 0.04) / 0.4
          costSource: 'trades',
          realizedPnl: '0',
          fees: '0.04',
          marketPrice: '100',
          marketPriceAt: expect.any(String),
          unrealizedPnl: '-0.04',
        },
      ],
    });
    await expectPortfolioMatchesLedger(h, a);
    await expectLedgerInvariants(h, a);
  });

  it('a GTD SELL of deposited base, partially filled then expired: a long position valued at the market price of the deposit', async () => {
    const { symbol, base } = await newInstrument(h, { feeRate: '0.001' });
    await tick(h, symbol, '90');
    // Deposited with no cost basis declared: valued at the market price then (90), and marked as such.
    const a = await fundedAccount(h, { [base]: '3' });
    const expireAt = new Date(Date.now() + 4_000).toISOString();
    const o = await place(h, a, { symbol, side: 'SELL', quantity: '2', limitPrice: '100', timeInForce: 'GTD', expireAt });
    await tick(h, symbol, '100', '0.5');
    await waitForOrder(h, o.orderId, hasStatus('PARTIALLY_FILLED'));
    expect(await finalOrder(h, o.orderId)).toMatchObject({ status: 'EXPIRED', filledQuantity: '0.5', lockedAmount: '0' });

    await expectPortfolio(a, {
      accountId: a,
      cash: [
        { asset: base, total: '2.5', locked: '0', available: '2.5' }, // 3 - 0.5
        { asset: 'USD', total: '49.95', locked: '0', available: '49.95' }, // 50 - 0.05
      ].sort((x, y) => (x.asset < y.asset ? -1 : 1)),
      positions: [
        {
          symbol,
          baseAsset: base,
          quoteAsset: 'USD',
          netQuantity: '2.5', // long: what the account holds, not a short
          averageCost: '90',
          costSource: 'market',
          realizedPnl: '4.95', // 0.5 x (100 - 90) - 0.05
          fees: '0.05',
          marketPrice: '100',
          marketPriceAt: expect.any(String),
          unrealizedPnl: '25', // 2.5 x (100 - 90)
        },
      ],
      equity: { USD: '299.95' }, // 49.95 + 2.5 x 100
    });
    await expectPortfolioMatchesLedger(h, a);
    await expectLedgerInvariants(h, a);
  });

  it('a declared cost basis, a BUY, selling more than was bought, a withdrawal, a deposit at market, back to flat', async () => {
    const { symbol, base } = await newInstrument(h, { feeRate: '0.001' });
    await tick(h, symbol, '100');
    const a = await fundedAccount(h, { USD: '1000' });
    await deposit(h.orm.em.fork(), { accountId: a, asset: base, amount: '1', reference: 'in-1', costBasis: '80' }, ctx(), h.venue);
    const b1 = await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100' });
    expect(b1.status).toBe('FILLED');
    // long 2 @ (1 x 80 + 100 + 0.1) / 2 = 90.05

    await tick(h, symbol, '110');
    const s1 = await place(h, a, { symbol, side: 'SELL', quantity: '1.5', limitPrice: '110' });
    expect(s1.status).toBe('FILLED');
    // fee 0.165; realized = 1.5 x (110 - 90.05) - 0.165 = 29.76; long 0.5 @ 90.05
    await expectPortfolio(a, {
      accountId: a,
      cash: [
        { asset: base, total: '0.5', locked: '0', available: '0.5' }, // 1 + 1 - 1.5
        { asset: 'USD', total: '1064.735', locked: '0', available: '1064.735' }, // 1000 - 100.1 + 165 - 0.165
      ].sort((x, y) => (x.asset < y.asset ? -1 : 1)),
      positions: [
        {
          symbol,
          baseAsset: base,
          quoteAsset: 'USD',
          netQuantity: '0.5',
          averageCost: '90.05',
          costSource: 'trades',
          realizedPnl: '29.76',
          fees: '0.265',
          marketPrice: '110',
          marketPriceAt: expect.any(String),
          unrealizedPnl: '9.975', // 0.5 x (110 - 90.05)
        },
      ],
      equity: { USD: '1119.735' }, // 1064.735 + 0.5 x 110
    });
    await expectPortfolioMatchesLedger(h, a);

    // A withdrawal takes units out at the average cost: nothing realized.
    await withdraw(h.orm.em.fork(), { accountId: a, asset: base, amount: '0.2', reference: 'out-1' }, ctx());
    // A deposit without a cost basis: at the market price now (110). (0.3 x 90.05 + 0.7 x 110) / 1 = 104.015
    await deposit(h.orm.em.fork(), { accountId: a, asset: base, amount: '0.7', reference: 'in-2' }, ctx(), h.venue);
    await expectPortfolio(a, {
      accountId: a,
      cash: [
        { asset: base, total: '1', locked: '0', available: '1' },
        { asset: 'USD', total: '1064.735', locked: '0', available: '1064.735' },
      ].sort((x, y) => (x.asset < y.asset ? -1 : 1)),
      positions: [
        {
          symbol,
          baseAsset: base,
          quoteAsset: 'USD',
          netQuantity: '1',
          averageCost: '104.015',
          costSource: 'market',
          realizedPnl: '29.76',
          fees: '0.265',
          marketPrice: '110',
          marketPriceAt: expect.any(String),
          unrealizedPnl: '5.985',
        },
      ],
    });

    const s2 = await place(h, a, { symbol, side: 'SELL', quantity: '1', limitPrice: '110' });
    expect(s2.status).toBe('FILLED');
    // fee 0.11; realized += 1 x (110 - 104.015) - 0.11 = 5.875 -> 35.635; flat: average 0, its cost known again
    await expectPortfolio(a, {
      accountId: a,
      cash: [
        { asset: base, total: '0', locked: '0', available: '0' },
        { asset: 'USD', total: '1174.625', locked: '0', available: '1174.625' }, // 1064.735 + 110 - 0.11
      ].sort((x, y) => (x.asset < y.asset ? -1 : 1)),
      positions: [
        {
          symbol,
          baseAsset: base,
          quoteAsset: 'USD',
          netQuantity: '0',
          averageCost: '0',
          costSource: 'trades',
          realizedPnl: '35.635',
          fees: '0.375', // 0.1 + 0.165 + 0.11
          marketPrice: '110',
          marketPriceAt: expect.any(String),
          unrealizedPnl: '0',
        },
      ],
      equity: { USD: '1174.625' },
    });
    await expectPortfolioMatchesLedger(h, a);
    await expectLedgerInvariants(h, a);
  });
  it('the ledger check fails, naming the difference, when the projection disagrees (negative control)', async () => {
    const a = await fundedAccount(h, { USD: '10' });
    await expectPortfolioMatchesLedger(h, a);
    // A row the ledger does not imply, for this test's own account only.
    await h.orm.em.fork().execute("insert into portfolio_cash (account_id, asset, total, locked, updated_at) values (?, 'ETH', 1, 0, now())", [a]);
    try {
      await expect(expectPortfolioMatchesLedger(h, a, 1_000)).rejects.toThrow(/cash total ETH: ledger 0, portfolio 1/);
    } finally {
      await h.orm.em.fork().execute("delete from portfolio_cash where account_id = ? and asset = 'ETH'", [a]);
    }
    await expectPortfolioMatchesLedger(h, a);
  });
});

describe('GET /accounts/:id/portfolio', () => {
  it('answers the own key and the operator, refuses others, marks the position to the venue\'s market price with its time', async () => {
    const { symbol, base } = await newInstrument(h, { feeRate: '0.001' });
    const created = await api.request('POST', '/accounts', { body: { name: 'portfolio-owner' } });
    expect(created.status).toBe(201);
    const { id: a, apiKey } = created.body;
    const other = (await api.request('POST', '/accounts', { body: { name: 'portfolio-other' } })).body;
    expect((await api.request('POST', `/accounts/${a}/deposits`, { body: { asset: 'USD', amount: '500', reference: 'd1' } })).status).toBe(201);
    expect((await api.request('POST', `/accounts/${other.id}/deposits`, { body: { asset: base, amount: '1', reference: 'd1' } })).status).toBe(201);

    // A: BUY 1 @ 100 (fee 0.1): average cost 100.1.
    await tick(h, symbol, '100');
    expect((await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100' })).status).toBe('FILLED');
    // The market moves to 110 (the other account trades there): the mark for everyone.
    await tick(h, symbol, '110');
    expect((await place(h, other.id, { symbol, side: 'SELL', quantity: '0.5', limitPrice: '110' })).status).toBe('FILLED');

    const own = await eventually(
      () => getPortfolio(a, apiKey),
      (r) => r.status === 200 && r.body.cash.length === 2,
    );
    expect(own.body).toEqual({
      accountId: a,
      // deposited (1), locked (2), settled (3): the ledger after its third transaction
      asOf: { sequence: 3, eventId: expect.any(String), at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
      cash: [
        { asset: base, total: '1', locked: '0', available: '1' },
        { asset: 'USD', total: '399.9', locked: '0', available: '399.9' }, // 500 - 100 - 0.1
      ].sort((x, y) => (x.asset < y.asset ? -1 : 1)),
      positions: [
        {
          symbol,
          baseAsset: base,
          quoteAsset: 'USD',
          netQuantity: '1',
          averageCost: '100.1',
          costSource: 'trades',
          realizedPnl: '0',
          fees: '0.1',
          marketPrice: '110',
          marketPriceAt: expect.any(String),
          unrealizedPnl: '9.9', // 1 x (110 - 100.1)
        },
      ],
      equity: { USD: '509.9' }, // 399.9 + 1 x 110
    });
    expect(own.body.positions[0].marketPriceAt).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z$/);
    expect((await getPortfolio(a)).body).toEqual(own.body); // the operator key

    const forbidden = await getPortfolio(a, other.apiKey);
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('content-type')).toMatch(/application\/problem\+json/);
    expect((await getPortfolio(a, null)).status).toBe(401);
    expect((await getPortfolio(a, 'oms_not-a-key')).status).toBe(401);
    const unknown = await getPortfolio(randomUUID());
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ status: 404, title: 'Not found' });
    expect((await getPortfolio('not-a-uuid')).status).toBe(400);

    // An account with nothing yet: empty, not an error.
    const empty = (await api.request('POST', '/accounts', { body: { name: 'portfolio-empty' } })).body;
    expect((await getPortfolio(empty.id, empty.apiKey)).body).toEqual({ accountId: empty.id, asOf: null, cash: [], positions: [], equity: {} });

    await expectPortfolioMatchesLedger(h, a);
    await expectPortfolioMatchesLedger(h, other.id);
  });
});

describe('exactly one effect per event', () => {
  it('a settlement and a deposit delivered again are duplicates and change nothing', async () => {
    const { symbol } = await newInstrument(h, { feeRate: '0.001' });
    const a = await fundedAccount(h, { USD: '1000' });
    await tick(h, symbol, '100');
    expect((await place(h, a, { symbol, side: 'BUY', quantity: '1', limitPrice: '100' })).status).toBe('FILLED');
    await expectPortfolioMatchesLedger(h, a);
    const before = (await getPortfolio(a)).body;
    expect(before.positions[0]).toMatchObject({ netQuantity: '1', averageCost: '100.1' });

    const [trade] = await eventually(() => streamEvents(p, 'funds', `funds.settled.${a}`), (e) => e.length >= 1);
    const [deposited] = await eventually(() => streamEvents(p, 'funds', `funds.deposited.${a}`), (e) => e.length >= 1);
    const sub = p.subscribers.get('portfolio')!;
    for (const stored of [trade, deposited]) {
      // The live consumer applied it already (the projection shows it): every redelivery is a duplicate.
      expect(await sub.process(stored.event, 'stream')).toBe('duplicate');
      expect(await sub.process(stored.event, 'stream')).toBe('duplicate');
      const [row] = await h.orm.em
        .fork()
        .execute<{ n: string }[]>("select count(*) as n from processed_events where subscriber = 'portfolio' and event_id = ?", [stored.event.eventId]);
      expect(Number(row.n)).toBe(1);
    }
    expect((await getPortfolio(a)).body).toEqual(before);
    await expectPortfolioMatchesLedger(h, a);
  });

  it('reset empties the projection tables (in a transaction rolled back here)', async () => {
    const rollback = new Error('rollback');
    let counts: number[] = [];
    await expect(
      h.orm.em.fork().transactional(async (tx) => {
        await portfolioSubscriber.reset!(tx);
        counts = [];
        for (const table of ['portfolio_cash', 'portfolio_positions', 'portfolio_accounts']) {
          const [row] = await tx.execute<{ n: string }[]>(`select count(*) as n from ${table}`);
          counts.push(Number(row.n));
        }
        throw rollback;
      }),
    ).rejects.toBe(rollback);
    expect(counts).toEqual([0, 0, 0]);
    const [row] = await h.orm.em.fork().execute<{ n: string }[]>('select count(*) as n from portfolio_positions');
    expect(Number(row.n)).toBeGreaterThan(0);
  });
});
