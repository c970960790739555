/** Ledger arithmetic: property tests that every fill sequence conserves money exactly. */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { dec, str, sum, ZERO, type Decimal } from '../../domain/decimal';
import { lockPlan, lockPostings, fillSettlement, SettlementError, unbalancedAssets, type Posting } from '../../domain/funds';

const instrument = (feeRate: string) => ({ baseAsset: 'BTC', quoteAsset: 'USD', tickSize: '0.01', feeRate });

/** Net of postings for one book/asset/bucket. */
function net(postings: Posting[], filter: Partial<Posting>): Decimal {
  return sum(postings.filter((p) => Object.entries(filter).every(([k, v]) => p[k as keyof Posting] === v)).map((p) => dec(p.amount)));
}

/** A quantity in lots of 0.001, split into 1..6 fills, each at a price at or better than the limit. */
const scenario = fc
  .record({
    lots: fc.integer({ min: 1, max: 100_000 }),
    limitTicks: fc.integer({ min: 1, max: 10_000_000 }),
    feeBps: fc.integer({ min: 0, max: 100 }),
    cuts: fc.array(fc.integer({ min: 1, max: 99_999 }), { maxLength: 5 }),
    improvements: fc.array(fc.integer({ min: 0, max: 1_000 }), { minLength: 6, maxLength: 6 }),
  })
  .map(({ lots, limitTicks, feeBps, cuts, improvements }) => {
    const points = [...new Set(cuts.filter((c) => c < lots))].sort((a, b) => a - b);
    const sizes = [...points, lots].map((p, i, all) => p - (i === 0 ? 0 : all[i - 1]));
    const limit = dec(limitTicks).times('0.01');
    return {
      quantity: str(dec(lots).times('0.001')),
      limit: str(limit),
      feeRate: str(dec(feeBps).div(10_000)),
      fills: sizes.map((s, i) => ({
        quantity: str(dec(s).times('0.001')),
        price: str(limit.minus(dec(Math.min(improvements[i], limitTicks - 1)).times('0.01'))),
      })),
    };
  });

describe('fill settlement', () => {
  it('BUY: every posting set balances; the lock ends at zero; cost + fees + releases = the lock', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const plan = lockPlan({ side: 'BUY', type: 'LIMIT', quantity: s.quantity, limitPrice: s.limit }, instrument(s.feeRate), null, '0.05');
        expect(plan.amount).toBe(str(dec(s.quantity).times(s.limit).times(dec(1).plus(s.feeRate))));
        const all: Posting[] = [...lockPostings('a', 'USD', plan.amount)];
        let locked = dec(plan.amount);
        let leaves = dec(s.quantity);
        let cost = ZERO;
        for (const f of s.fills) {
          const r = fillSettlement(
            { accountId: 'a', side: 'BUY', baseAsset: 'BTC', quoteAsset: 'USD', feeRate: s.feeRate, unitLock: plan.unitLock, lockedAmount: str(locked), leavesQuantity: str(leaves) },
            f,
          );
          expect(unbalancedAssets(r.postings)).toEqual([]);
          expect(dec(r.lockedAfter).isNegative()).toBe(false);
          locked = dec(r.lockedAfter);
          leaves = leaves.minus(f.quantity);
          cost = cost.plus(dec(f.quantity).times(f.price).times(dec(1).plus(s.feeRate)));
          all.push(...r.postings);
        }
        expect(str(locked)).toBe('0');
        expect(net(all, { book: 'customer', asset: 'USD', bucket: 'locked' }).isZero()).toBe(true);
        // What left the account is exactly cost plus fees; the base credited is the quantity.
        expect(str(net(all, { book: 'customer', asset: 'USD' }).neg())).toBe(str(cost));
        expect(str(net(all, { book: 'customer', asset: 'BTC', bucket: 'available' }))).toBe(s.quantity);
        expect(str(net(all, { book: 'fees', asset: 'USD' }))).toBe(str(sum(s.fills.map((f) => dec(f.quantity).times(f.price).times(s.feeRate)))));
      }),
      { numRuns: 300 },
    );
  });

  it('SELL: the base leaves the lock; proceeds minus fees arrive available', () => {
    fc.assert(
      fc.property(scenario, (s) => {
        const plan = lockPlan({ side: 'SELL', type: 'LIMIT', quantity: s.quantity, limitPrice: s.limit }, instrument(s.feeRate), null, '0.05');
        expect(plan).toMatchObject({ asset: 'BTC', amount: s.quantity, unitLock: '1' });
        const all: Posting[] = [];
        let locked = dec(plan.amount);
        let leaves = dec(s.quantity);
        for (const f of s.fills) {
          const r = fillSettlement(
            { accountId: 'a', side: 'SELL', baseAsset: 'BTC', quoteAsset: 'USD', feeRate: s.feeRate, unitLock: '1', lockedAmount: str(locked), leavesQuantity: str(leaves) },
            f,
          );
          expect(unbalancedAssets(r.postings)).toEqual([]);
          locked = dec(r.lockedAfter);
          leaves = leaves.minus(f.quantity);
          all.push(...r.postings);
        }
        expect(str(locked)).toBe('0');
        const proceeds = sum(s.fills.map((f) => dec(f.quantity).times(f.price)));
        expect(str(net(all, { book: 'customer', asset: 'USD', bucket: 'available' }))).toBe(str(proceeds.times(dec(1).minus(s.feeRate))));
        expect(str(net(all, { book: 'customer', asset: 'BTC', bucket: 'locked' }).neg())).toBe(s.quantity);
      }),
      { numRuns: 300 },
    );
  });

  it('refuses a fill above the lock price, an over-fill and a non-positive fill', () => {
    const ctx = { accountId: 'a', side: 'BUY' as const, baseAsset: 'BTC', quoteAsset: 'USD', feeRate: '0', unitLock: '100', lockedAmount: '200', leavesQuantity: '2' };
    expect(() => fillSettlement(ctx, { quantity: '1', price: '100.01' })).toThrow(SettlementError);
    expect(() => fillSettlement(ctx, { quantity: '2.5', price: '90' })).toThrow(/exceeds leaves/);
    expect(() => fillSettlement(ctx, { quantity: '0', price: '90' })).toThrow(/must be positive/);
  });

  it('a MARKET order locks and is protected at the collar, on the tick grid', () => {
    const buy = lockPlan({ side: 'BUY', type: 'MARKET', quantity: '2', limitPrice: null }, instrument('0.001'), '100.07', '0.05');
    expect(buy).toEqual({ asset: 'USD', protectionPrice: '105.07', unitLock: '105.17507', amount: '210.35014' });
    const sell = lockPlan({ side: 'SELL', type: 'MARKET', quantity: '2', limitPrice: null }, instrument('0'), '100.07', '0.05');
    expect(sell).toEqual({ asset: 'BTC', protectionPrice: '95.07', unitLock: '1', amount: '2' });
  });

  it('exact decimals: no binary floating point anywhere', () => {
    expect(str(dec('0.1').plus('0.2'))).toBe('0.3');
    expect(str(dec(0.1).plus(0.2))).toBe('0.3');
    expect(unbalancedAssets([{ book: 'customer', accountId: 'a', asset: 'USD', bucket: 'available', amount: '0.1', kind: 'DEPOSIT' }])).toEqual(['USD']);
  });
});
