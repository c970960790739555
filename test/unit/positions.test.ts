/** The one average-cost method the portfolio and the report share (domain/positions.ts). */
import { describe, expect, it } from '@jest/globals';
import { dec, str } from '../../domain/decimal';
import { applyDeposit, applyTrade, applyWithdrawal, FLAT, unrealizedPnl, withdrawUpTo, type Position, type Trade } from '../../domain/positions';

const t = (side: 'BUY' | 'SELL', quantity: string, price: string, fee = '0'): Trade => ({ side, quantity: dec(quantity), price: dec(price), fee: dec(fee) });

function run(...trades: Trade[]) {
  let position: Position = FLAT;
  const realized: string[] = [];
  for (const trade of trades) {
    const r = applyTrade(position, trade);
    position = r.position;
    realized.push(str(r.realized));
  }
  return { net: str(position.netQuantity), avg: str(position.averageCost), realized };
}

describe('average cost', () => {
  it('a BUY fee goes into the cost; a reducing SELL realizes q x (price - avg) - fee and keeps the average', () => {
    // (100 + 1) + (2 x 110 + 2) = 323 for 3: 107.666... rounded to 18 places half-even
    expect(run(t('BUY', '1', '100', '1'), t('BUY', '2', '110', '2'))).toEqual({ net: '3', avg: '107.666666666666666667', realized: ['0', '0'] });
    // avg 101; 1 x (120 - 101) - 0.5
    expect(run(t('BUY', '2', '100', '2'), t('SELL', '1', '120', '0.5'))).toEqual({ net: '1', avg: '101', realized: ['0', '18.5'] });
    expect(run(t('BUY', '1', '100', '1'), t('BUY', '1', '110', '1'), t('SELL', '1', '120', '1'))).toEqual({ net: '1', avg: '106', realized: ['0', '0', '13'] });
    expect(run(t('BUY', '1', '1'), t('BUY', '2', '2')).avg).toBe('1.666666666666666667'); // 5 / 3
  });

  it('a SELL fee lowers a short’s entry; covering realizes q x (avg - price) - fee', () => {
    // (2 x 50 - 0.2) / 2 = 49.9
    expect(run(t('SELL', '2', '50', '0.2'))).toEqual({ net: '-2', avg: '49.9', realized: ['0'] });
    expect(run(t('SELL', '2', '50'), t('BUY', '1', '40', '0.1'))).toEqual({ net: '-1', avg: '50', realized: ['0', '9.9'] });
    expect(run(t('BUY', '1', '10'), t('SELL', '1', '12'))).toEqual({ net: '0', avg: '0', realized: ['0', '2'] });
  });

  it('a trade beyond the position closes it and opens the other side, sharing the fee pro rata', () => {
    // long 1 @ 101; SELL 3 @ 90 fee 0.3: the closing third pays 0.1: 1 x (90 - 101) - 0.1 = -11.1;
    // the short 2 opens at (2 x 90 - 0.2) / 2 = 89.9; BUY 2 @ 80 fee 0.16: 2 x (89.9 - 80) - 0.16 = 19.64
    expect(run(t('BUY', '1', '100', '1'), t('SELL', '3', '90', '0.3'), t('BUY', '2', '80', '0.16'))).toEqual({
      net: '0',
      avg: '0',
      realized: ['0', '-11.1', '19.64'],
    });
    // short 2 @ 49.95; BUY 3 @ 40 fee 0.12: 2 x (49.95 - 40) - 0.08 = 19.82; the long 1 costs 40 + 0.04
    expect(run(t('SELL', '2', '50', '0.1'), t('BUY', '3', '40', '0.12'))).toEqual({ net: '1', avg: '40.04', realized: ['0', '19.82'] });
    expect(run(t('SELL', '2', '50'), t('BUY', '3', '40', '0.3'))).toEqual({ net: '1', avg: '40.1', realized: ['0', '19.8'] });
  });

  it('unrealized P&L at a last price', () => {
    expect(str(unrealizedPnl({ netQuantity: dec('1.5'), averageCost: dec('98.34825') }, dec('105')))).toBe('9.977625');
    expect(str(unrealizedPnl({ netQuantity: dec('-2'), averageCost: dec('50') }, dec('45')))).toBe('10');
  });

  it('refuses a non-positive quantity or price', () => {
    expect(() => applyTrade(FLAT, t('BUY', '0', '1'))).toThrow(/must be positive/);
    expect(() => applyTrade(FLAT, t('BUY', '1', '0'))).toThrow(/must be positive/);
  });
});

describe('movements of the base asset (deposits and withdrawals)', () => {
  const held = (net: string, avg: string, costSource: 'trades' | 'market' | 'none' = 'trades') => ({ netQuantity: dec(net), averageCost: dec(avg), costSource });

  it('the issue\'s case: deposit 1 at a declared 15,000, sell 0.5 at 20,000 with a 10 fee: long 0.5 at 15,000, realized 2,490', () => {
    const deposited = applyDeposit(held('0', '0'), dec('1'), { price: dec('15000'), source: 'declared' });
    expect([deposited.netQuantity.toFixed(), deposited.averageCost.toFixed(), deposited.costSource]).toEqual(['1', '15000', 'trades']);
    const { position, realized } = applyTrade(deposited, { side: 'SELL', quantity: dec('0.5'), price: dec('20000'), fee: dec('10') });
    expect([position.netQuantity.toFixed(), position.averageCost.toFixed(), realized.toFixed()]).toEqual(['0.5', '15000', '2490']);
  });

  it('a deposit adds at its cost basis; the worst cost source of what is held wins until flat', () => {
    const a = applyDeposit(held('2', '100'), dec('1'), { price: dec('130'), source: 'market' });
    expect([a.netQuantity.toFixed(), a.averageCost.toFixed(), a.costSource]).toEqual(['3', '110', 'market']);
    const b = applyDeposit(a, dec('1'), { price: dec('0'), source: 'none' });
    expect([b.averageCost.toFixed(), b.costSource]).toEqual(['82.5', 'none']);
    const c = applyDeposit(b, dec('4'), { price: dec('90'), source: 'declared' });
    expect(c.costSource).toBe('none');
    expect(() => applyDeposit(held('-1', '100'), dec('1'), { price: dec('1'), source: 'declared' })).toThrow(/never short/);
  });

  it('a withdrawal leaves the average cost, realizes nothing, and cannot take more than is held', () => {
    const w = applyWithdrawal(held('3', '110', 'market'), dec('1'));
    expect([w.netQuantity.toFixed(), w.averageCost.toFixed(), w.costSource]).toEqual(['2', '110', 'market']);
    const flat = applyWithdrawal(w, dec('2'));
    expect([flat.netQuantity.toFixed(), flat.averageCost.toFixed(), flat.costSource]).toEqual(['0', '0', 'trades']);
    expect(() => applyWithdrawal(w, dec('2.5'))).toThrow(/never allows/);
  });
});

describe('a withdrawal as a projection applies it', () => {
  it('takes at most what the position holds and says how much was beyond it', () => {
    const r = withdrawUpTo({ netQuantity: dec('0.5'), averageCost: dec('100'), costSource: 'trades' }, dec('0.8'));
    expect([r.position.netQuantity.toFixed(), r.position.averageCost.toFixed(), r.beyond.toFixed()]).toEqual(['0', '0', '0.3']);
    const within = withdrawUpTo({ netQuantity: dec('2'), averageCost: dec('100'), costSource: 'market' }, dec('0.5'));
    expect([within.position.netQuantity.toFixed(), within.position.averageCost.toFixed(), within.position.costSource, within.beyond.toFixed()]).toEqual([
      '1.5',
      '100',
      'market',
      '0',
    ]);
  });
});
