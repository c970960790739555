/**
 * What the order service and a trading venue say to each other: the order sent, the
 * acknowledgement, the fills, the answer to a cancel. Workflow-safe (types only): the
 * order workflow decides on these, and every venue adapter speaks them. Both calls
 * are idempotent by order id, since the activities that make them are retried.
 */
import type { OrderSide, OrderType, TimeInForce } from './order';

/**
 * Where a venue order stands. RESTING: in the book (possibly after immediate fills);
 * FILLED: fully filled; CANCELLED: cancelled, or the unfilled rest of an
 * IOC/FOK/MARKET order; REJECTED: not accepted (e.g. a MARKET order with no market price).
 */
export const VENUE_ORDER_STATUSES = ['RESTING', 'FILLED', 'CANCELLED', 'REJECTED'] as const;
export type VenueOrderStatus = (typeof VENUE_ORDER_STATUSES)[number];

export interface VenueOrderRequest {
  orderId: string;
  symbol: string;
  side: OrderSide;
  type: OrderType;
  timeInForce: TimeInForce;
  quantity: string;
  limitPrice: string | null;
  /** MARKET orders: the worst price the venue may fill at (the collar). */
  protectionPrice: string | null;
}

export interface VenueFill {
  tradeId: string;
  orderId: string;
  quantity: string;
  price: string;
  executedAt: string;
}

export interface VenueAck {
  /** The order's status once the submission was handled (FILLED: fully filled at once). */
  status: VenueOrderStatus;
  rejectReason: string | null;
  /** Fills executed at submission. */
  fills: VenueFill[];
  remaining: string;
}

export interface VenueCancelResult {
  /** Whether the order is (now) cancelled at the venue; false when it had already filled. */
  cancelled: boolean;
  reason: 'CANCELLED' | 'ALREADY_FILLED' | 'ALREADY_CLOSED' | 'UNKNOWN_ORDER' | 'REFUSED';
  /** Every fill the venue executed for this order, so the caller can apply any still in flight. */
  fills: VenueFill[];
  remaining: string;
}

/** A market price and when the venue saw it (its last tick or trade). */
export interface MarketQuote {
  price: string;
  at: string;
}

/** The market data a venue sees: what positions are marked to and deposits valued at. */
export interface MarketPrices {
  /** The symbol's last market price with its time, or null before the first. */
  marketPrice(symbol: string): Promise<MarketQuote | null>;
}
