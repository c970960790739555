/**
 * Portfolio, report and ledger agree about one account after a mixed sequence, through
 * the API: the case first (deposit 1 of a base asset at a declared cost basis,
 * sell 0.5 at 20,000: a LONG position of 0.5 at that cost, P&L realized against it),
 * then buy, sell more than was bought, withdraw. Plus the deposit's input validation.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { dec, str } from '../../domain/decimal';
import { portfolioSubscriber } from '../../subscribers/portfolio';
import { reportSubscriber } from '../../subscribers/report';
import { startApi, type Api } from '../support/api';
import { balances, expectLedgerInvariants, newInstrument, place, tick } from '../support/fixtures';
import { startHarness, type Harness } from '../support/harness';
import { eventually, startPipeline, type Pipeline } from '../support/pipeline';
import { expectPortfolioMatchesLedger } from '../support/portfolio-check';

let h: Harness;
let p: Pipeline;
let api: Api;

beforeAll(async () => {
  h = await startHarness();
  p = await startPipeline(h, { subscribers: [portfolioSubscriber, reportSubscriber] });
  api = await startApi(h);
});
afterAll(async () => {
  await api?.close();
  await p?.close();
  await h?.close();
});

const today = () => new Date().toISOString().slice(0, 10);

describe('portfolio, report and ledger agree', () => {
  let symbol = '';
  let base = '';
  let account = '';

  it('deposits validate the cost basis: 400 naming costBasis', async () => {
    ({ symbol, base } = await newInstrument(h, { feeRate: '0.001' }));
    account = (await api.request('POST', '/accounts', { body: { name: 'agreement' } })).body.id;
    for (const [body, why] of [
      [{ asset: base, amount: '1', reference: 'x', costBasis: 15000 }, /string/],
      [{ asset: base, amount: '1', reference: 'x', costBasis: '-1' }, /decimal string/],
      [{ asset: 'USD', amount: '1', reference: 'x', costBasis: '1' }, /not the base asset/],
    ] as const) {
      const r = await api.request('POST', `/accounts/${account}/deposits`, { body });
      expect([r.status, r.headers.get('content-type'), r.body.errors?.map((e: { field: string }) => e.field)]).toEqual([400, expect.stringMatching(/problem\+json/), ['costBasis']]);
      expect(JSON.stringify(r.body.errors)).toMatch(why);
    }
    const w = await api.request('POST', `/accounts/${account}/withdrawals`, { body: { asset: base, amount: '1', reference: 'x', costBasis: '1' } });
    expect([w.status, w.body.errors?.map((e: { field: string }) => e.field)]).toEqual([400, ['costBasis']]);
  });

  it('deposit 1 at 15,000, sell 0.5 at 20,000: long 0.5 at 15,000, realized 0.5 x 5,000 - 10 = 2,490', async () => {
    expect(account).not.toBe('');
    const d = await api.request('POST', `/accounts/${account}/deposits`, { body: { asset: base, amount: '1', reference: 'btc-in', costBasis: '15000' } });
    expect(d.status).toBe(201);
    await tick(h, symbol, '20000');
    expect((await place(h, account, { symbol, side: 'SELL', quantity: '0.5', limitPrice: '20000' })).status).toBe('FILLED');

    const portfolio = await eventually(
      () => api.request('GET', `/accounts/${account}/portfolio`),
      (r) => r.body.positions?.[0]?.netQuantity === '0.5' && r.body.cash.length === 2,
      // The subscribers may start with the backlog of the test files before this one.
      90_000,
    );
    expect(portfolio.body.cash).toEqual(
      [
        { asset: base, total: '0.5', locked: '0', available: '0.5' },
        { asset: 'USD', total: '9990', locked: '0', available: '9990' }, // 10,000 - fee 10
      ].sort((x, y) => (x.asset < y.asset ? -1 : 1)),
    );
    expect(portfolio.body.positions).toEqual([
      {
        symbol,
        baseAsset: base,
        quoteAsset: 'USD',
        netQuantity: '0.5',
        averageCost: '15000',
        costSource: 'trades',
        realizedPnl: '2490',
        fees: '10',
        marketPrice: '20000',
        marketPriceAt: expect.any(String),
        unrealizedPnl: '2500', // 0.5 x (20,000 - 15,000)
      },
    ]);
    expect(portfolio.body.equity).toEqual({ USD: '19990' }); // 9,990 + 0.5 x 20,000
    await expectPortfolioMatchesLedger(h, account);
  });

  it('then buy, sell more than was bought, withdraw: the three agree', async () => {
    expect(account).not.toBe('');
    expect((await api.request('POST', `/accounts/${account}/deposits`, { body: { asset: 'USD', amount: '5000', reference: 'usd-in' } })).status).toBe(201);
    expect((await place(h, account, { symbol, side: 'BUY', quantity: '0.2', limitPrice: '20000' })).status).toBe('FILLED');
    await tick(h, symbol, '21000');
    expect((await place(h, account, { symbol, side: 'SELL', quantity: '0.5', limitPrice: '21000' })).status).toBe('FILLED');
    expect((await api.request('POST', `/accounts/${account}/withdrawals`, { body: { asset: base, amount: '0.1', reference: 'btc-out' } })).status).toBe(201);
    await expectPortfolioMatchesLedger(h, account);
    await expectLedgerInvariants(h, account);

    const ledger = await balances(h, account);
    const held = dec(ledger[base].available).plus(dec(ledger[base].locked));
    expect(str(held)).toBe('0.1'); // 1 - 0.5 + 0.2 - 0.5 - 0.1

    const report = await eventually(
      () => api.request('GET', `/reports/accounts/${account}?date=${today()}`),
      (r) => r.body.symbols?.[0]?.trades === 3 && r.body.symbols[0].withdrawalQuantity === '0.1',
      90_000,
    );
    const portfolio = (await api.request('GET', `/accounts/${account}/portfolio`)).body;
    const [day] = report.body.symbols;
    const [position] = portfolio.positions;
    // Quantities: what the report counts in and out is what the ledger holds and the portfolio shows.
    expect(day).toMatchObject({ depositQuantity: '1', withdrawalQuantity: '0.1', buyQuantity: '0.2', sellQuantity: '1' });
    const reportNet = dec(day.depositQuantity).minus(dec(day.withdrawalQuantity)).plus(dec(day.buyQuantity)).minus(dec(day.sellQuantity));
    expect([str(reportNet), position.netQuantity]).toEqual([str(held), str(held)]);
    // Money: fees and realized P&L, by the same rule.
    // avg after the BUY = (0.5 x 15,000 + 4,000 + 4) / 0.7; the SELL realizes 0.5 x (21,000 - avg) - 10.5.
    const avg = dec('11504').div(dec('0.7')).toDecimalPlaces(18, 6);
    const realized = dec('2490').plus(dec('0.5').times(dec('21000').minus(avg)).toDecimalPlaces(18, 6)).minus(dec('10.5'));
    expect(position).toMatchObject({ averageCost: str(avg), realizedPnl: str(realized), fees: '24.5' });
    expect(report.body.totals).toEqual({ fees: { USD: position.fees }, realizedPnl: { USD: position.realizedPnl } });
    const [row] = await h.orm.em
      .fork()
      .execute<{ net_quantity: string; average_cost: string }[]>('select net_quantity, average_cost from report_positions where account_id = ? and symbol = ?', [account, symbol]);
    expect([str(row.net_quantity), str(row.average_cost)]).toEqual([position.netQuantity, position.averageCost]);
  });
});
