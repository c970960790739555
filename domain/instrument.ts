/**
 * Instruments and the business validation of an order against one. Workflow-safe.
 */
import { dec, isMultipleOf, isStorable } from './decimal';
import type { PlaceOrderRequest, TimeInForce } from './order';

export interface Instrument {
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
  tickSize: string;
  lotSize: string;
  minQuantity: string;
  feeRate: string;
  active: boolean;
  /** The largest notional (quantity x price, quote asset) one order may have; DEFAULT_MAX_NOTIONAL when unset. */
  maxNotional?: string;
}

/**
 * The notional cap of an instrument that sets none: far above any real order, and far
 * enough below numeric(38,18)'s 20 integer digits that a lock with its fee still fits.
 */
export const DEFAULT_MAX_NOTIONAL = '1000000000000';

/** The reason codes an order is rejected with at validation. */
export const REJECT_CODES = [
  'UNKNOWN_SYMBOL',
  'INSTRUMENT_INACTIVE',
  'ACCOUNT_NOT_FOUND',
  'ACCOUNT_INACTIVE',
  'INVALID_QUANTITY',
  'QUANTITY_BELOW_MINIMUM',
  'INVALID_LOT',
  'MISSING_PRICE',
  'PRICE_NOT_ALLOWED',
  'INVALID_TICK',
  'NOTIONAL_TOO_LARGE',
  'INVALID_TIME_IN_FORCE',
  'MISSING_EXPIRE_AT',
  'EXPIRE_AT_NOT_FUTURE',
  'EXPIRE_AT_NOT_ALLOWED',
  'NO_MARKET_PRICE',
  'INSUFFICIENT_FUNDS',
  'VENUE_REJECTED',
] as const;
export type RejectCode = (typeof REJECT_CODES)[number];

export interface Rejection {
  code: RejectCode;
  message: string;
}

export const MARKET_TIME_IN_FORCE: readonly TimeInForce[] = ['IOC', 'FOK'];

/**
 * The first business rule the order breaks, or null. `now` is the validator's clock
 * (epoch ms); `lastPrice` the venue's last tick for the symbol, if any.
 */
export function validateOrder(
  order: PlaceOrderRequest,
  instrument: Instrument | null,
  now: number,
  lastPrice: string | null,
): Rejection | null {
  if (!instrument) return { code: 'UNKNOWN_SYMBOL', message: `unknown symbol ${order.symbol}` };
  if (!instrument.active) return { code: 'INSTRUMENT_INACTIVE', message: `${order.symbol} is not trading` };

  const qty = dec(order.quantity);
  if (!qty.isPositive() || qty.isZero() || !isStorable(qty)) {
    return { code: 'INVALID_QUANTITY', message: 'quantity must be a positive decimal with at most 18 decimal places' };
  }
  if (qty.lessThan(dec(instrument.minQuantity))) {
    return { code: 'QUANTITY_BELOW_MINIMUM', message: `quantity ${order.quantity} is below the minimum ${instrument.minQuantity}` };
  }
  if (!isMultipleOf(qty, dec(instrument.lotSize))) {
    return { code: 'INVALID_LOT', message: `quantity ${order.quantity} is not a multiple of the lot size ${instrument.lotSize}` };
  }

  if (order.type === 'LIMIT') {
    if (order.limitPrice === null) return { code: 'MISSING_PRICE', message: 'a LIMIT order needs a limitPrice' };
    const price = dec(order.limitPrice);
    if (!price.isPositive() || price.isZero() || !isStorable(price)) {
      return { code: 'INVALID_TICK', message: 'limitPrice must be a positive decimal' };
    }
    if (!isMultipleOf(price, dec(instrument.tickSize))) {
      return { code: 'INVALID_TICK', message: `limitPrice ${order.limitPrice} is not a multiple of the tick size ${instrument.tickSize}` };
    }
  } else {
    if (order.limitPrice !== null) return { code: 'PRICE_NOT_ALLOWED', message: 'a MARKET order takes no limitPrice' };
    if (!MARKET_TIME_IN_FORCE.includes(order.timeInForce)) {
      return { code: 'INVALID_TIME_IN_FORCE', message: `a MARKET order must be IOC or FOK, not ${order.timeInForce}` };
    }
    if (lastPrice === null) return { code: 'NO_MARKET_PRICE', message: `no market price for ${order.symbol} yet` };
  }

  // Quantity and price are each valid; their product must be too (the lock is computed from it).
  const price = order.type === 'LIMIT' ? order.limitPrice : lastPrice;
  if (price !== null) {
    const notional = qty.times(dec(price));
    const cap = dec(instrument.maxNotional ?? DEFAULT_MAX_NOTIONAL);
    if (notional.greaterThan(cap)) {
      return { code: 'NOTIONAL_TOO_LARGE', message: `notional ${notional.toFixed()} (quantity x price) exceeds the ${cap.toFixed()} ${instrument.quoteAsset} cap of ${order.symbol}` };
    }
  }

  if (order.timeInForce === 'GTD') {
    if (order.expireAt === null) return { code: 'MISSING_EXPIRE_AT', message: 'a GTD order needs expireAt' };
    if (Date.parse(order.expireAt) <= now) {
      return { code: 'EXPIRE_AT_NOT_FUTURE', message: `expireAt ${order.expireAt} is not in the future` };
    }
  } else if (order.expireAt !== null) {
    return { code: 'EXPIRE_AT_NOT_ALLOWED', message: `expireAt is only for GTD orders, not ${order.timeInForce}` };
  }
  return null;
}

/**
 * The next trading-session close strictly after `now` (epoch ms), for a daily close
 * at `closeUtc` ("HH:MM" or "HH:MM:SS", UTC). DAY orders expire then.
 */
export function nextSessionClose(now: number, closeUtc: string): Date {
  const [h, m, s] = closeUtc.split(':').map((p) => Number(p));
  const d = new Date(now);
  const close = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), h, m, s ?? 0);
  return new Date(close > now ? close : close + 24 * 60 * 60 * 1000);
}
