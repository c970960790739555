/**
 * Position accounting by the average cost method, long and short: the one
 * definition of average cost and realized P&L that the portfolio and the report both
 * use (so the two always agree). Pure and exact; no I/O, no clock, so replaying the
 * same trades in the same order gives the same numbers.
 *
 * A position is a signed net quantity of the base asset (long > 0, short < 0) and an
 * average cost per unit in the quote asset (0 when flat). One trade (quantity q at
 * price p, fee f in the quote asset) splits into the part that reduces the position
 * (`closed`) and the part that opens or adds to it (`opened`); the fee is shared pro
 * rata (the opened part gets f x opened / q, the closed part the rest, exactly f).
 *
 * - Opening or adding: no P&L; the fee goes into the basis. A long's cost rises by the
 *   fee, a short's entry (what it sold for, net) falls by it:
 *     long:  averageCost = (|net| x avg + opened x p + fee) / (|net| + opened)
 *     short: averageCost = (|net| x avg + opened x p - fee) / (|net| + opened)
 * - Reducing: realized = closed x (p - avg) for a long, closed x (avg - p) for a short,
 *   minus the closed part's fee; the average is unchanged while the position is open.
 * - A trade beyond the position closes it and opens the other side at the trade price.
 *
 * Rounding, to 18 decimal places half-even (the numeric(38,18) columns): the average
 * (a division), closed x (p - avg) (avg has 18 places), and the pro-rata fee share.
 */
import { assertStorable, Decimal, min, ZERO } from './decimal';
import type { OrderSide } from './order';

export interface Position {
  netQuantity: Decimal;
  averageCost: Decimal;
}

export interface Trade {
  side: OrderSide;
  quantity: Decimal;
  price: Decimal;
  /** In the quote asset. */
  fee: Decimal;
}

export const FLAT: Position = { netQuantity: ZERO, averageCost: ZERO };

const round = (d: Decimal): Decimal => d.toDecimalPlaces(18, Decimal.ROUND_HALF_EVEN);

/** The position after one trade, and the P&L the trade realized. */
export function applyTrade(pos: Position, t: Trade): { position: Position; realized: Decimal } {
  const q = t.quantity;
  if (!q.isPositive() || q.isZero()) throw new Error(`trade quantity ${q.toFixed()} must be positive`);
  if (!t.price.isPositive() || t.price.isZero()) throw new Error(`trade price ${t.price.toFixed()} must be positive`);
  const buy = t.side === 'BUY';
  const net = pos.netQuantity;
  const reduces = !net.isZero() && (buy ? net.isNegative() : net.isPositive());
  const closed = reduces ? min(q, net.abs()) : ZERO;
  const opened = q.minus(closed);
  const openedFee = closed.isZero() ? t.fee : opened.isZero() ? ZERO : round(t.fee.times(opened).div(q));
  const closedFee = t.fee.minus(openedFee);

  let netQuantity = net;
  let averageCost = pos.averageCost;
  let realized = ZERO;
  if (!closed.isZero()) {
    const perUnit = buy ? averageCost.minus(t.price) : t.price.minus(averageCost);
    realized = round(closed.times(perUnit)).minus(closedFee);
    netQuantity = buy ? net.plus(closed) : net.minus(closed);
    if (netQuantity.isZero()) averageCost = ZERO;
  }
  if (!opened.isZero()) {
    const basis = netQuantity
      .abs()
      .times(averageCost)
      .plus(opened.times(t.price))
      .plus(buy ? openedFee : openedFee.neg());
    netQuantity = buy ? netQuantity.plus(opened) : netQuantity.minus(opened);
    averageCost = round(basis.div(netQuantity.abs()));
  }
  return {
    position: { netQuantity: assertStorable(netQuantity, 'net quantity'), averageCost: assertStorable(averageCost, 'average cost') },
    realized: assertStorable(realized, 'realized P&L'),
  };
}

/** netQuantity x (lastPrice - averageCost): what closing at the last price would realize (before fees). */
export function unrealizedPnl(pos: Position, lastPrice: Decimal): Decimal {
  return round(pos.netQuantity.times(lastPrice.minus(pos.averageCost)));
}

/**
 * Where a position's average cost comes from: `trades` (every unit from a trade or a
 * deposit with a declared cost basis), `market` (some units were deposited without
 * one and valued at the market price at the time of the deposit), `none` (some were
 * deposited when there was no market price either: valued at 0). The worst source of
 * the units held wins; a flat position starts again from `trades`.
 */
export const COST_SOURCES = ['trades', 'market', 'none'] as const;
export type CostSource = (typeof COST_SOURCES)[number];

const worse = (a: CostSource, b: CostSource): CostSource => (COST_SOURCES.indexOf(a) >= COST_SOURCES.indexOf(b) ? a : b);

/** How a deposit of the base asset is valued: per unit, in the quote asset. */
export interface DepositCost {
  price: Decimal;
  /** `declared` by the depositor; `market` taken at the last market price; `none`: no price known (0). */
  source: 'declared' | 'market' | 'none';
}

/**
 * A deposit of the base asset adds to the position at its cost basis, like a BUY
 * without a fee and without P&L: averageCost = (net x avg + q x costBasis) / (net + q).
 * Positions count every movement, so the account never holds less than nothing: a
 * deposit only ever adds to a long (or flat) position.
 */
export function applyDeposit(pos: Position & { costSource: CostSource }, quantity: Decimal, cost: DepositCost): Position & { costSource: CostSource } {
  if (!quantity.isPositive() || quantity.isZero()) throw new Error(`deposit quantity ${quantity.toFixed()} must be positive`);
  if (pos.netQuantity.isNegative()) throw new Error('a deposit onto a short position: positions from every movement are never short');
  const netQuantity = pos.netQuantity.plus(quantity);
  const averageCost = round(pos.netQuantity.times(pos.averageCost).plus(quantity.times(cost.price)).div(netQuantity));
  const source: CostSource = cost.source === 'declared' ? 'trades' : cost.source;
  return {
    netQuantity: assertStorable(netQuantity, 'net quantity'),
    averageCost: assertStorable(averageCost, 'average cost'),
    costSource: pos.netQuantity.isZero() ? source : worse(pos.costSource, source),
  };
}

/**
 * A withdrawal of the base asset takes units out at their average cost: the average
 * is unchanged and nothing is realized (a withdrawal is not a sale). Flat: average 0.
 */
export function applyWithdrawal(pos: Position & { costSource: CostSource }, quantity: Decimal): Position & { costSource: CostSource } {
  if (!quantity.isPositive() || quantity.isZero()) throw new Error(`withdrawal quantity ${quantity.toFixed()} must be positive`);
  if (quantity.greaterThan(pos.netQuantity)) {
    throw new Error(`withdrawal of ${quantity.toFixed()} from a position of ${pos.netQuantity.toFixed()}: the ledger never allows it`);
  }
  const netQuantity = pos.netQuantity.minus(quantity);
  return netQuantity.isZero() ? { netQuantity, averageCost: ZERO, costSource: 'trades' } : { netQuantity, averageCost: pos.averageCost, costSource: pos.costSource };
}

/**
 * A withdrawal as a projection applies it: at most what the position holds. Only a
 * position built before deposits counted (units deposited then, with no instrument in
 * their event) can hold less than the ledger; the rest is returned as `beyond` so
 * the caller can say so, rather than refuse the event and lose its cash movement.
 */
export function withdrawUpTo(pos: Position & { costSource: CostSource }, quantity: Decimal): { position: Position & { costSource: CostSource }; beyond: Decimal } {
  const held = pos.netQuantity.isPositive() ? pos.netQuantity : ZERO;
  const taken = min(quantity, held);
  return { position: taken.isZero() ? pos : applyWithdrawal(pos, taken), beyond: quantity.minus(taken) };
}
