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
