/**
 * Order vocabulary and the one transition table (README, "The order lifecycle").
 * Workflow-safe: the workflow, the persisted read model and the API all use these.
 */

export const ORDER_SIDES = ['BUY', 'SELL'] as const;
export type OrderSide = (typeof ORDER_SIDES)[number];

export const ORDER_TYPES = ['MARKET', 'LIMIT'] as const;
export type OrderType = (typeof ORDER_TYPES)[number];

export const TIME_IN_FORCE = ['GTC', 'GTD', 'DAY', 'IOC', 'FOK'] as const;
export type TimeInForce = (typeof TIME_IN_FORCE)[number];

export const ORDER_STATUSES = [
  'NEW',
  'REJECTED',
  'ACCEPTED',
  'PARTIALLY_FILLED',
  'PENDING_CANCEL',
  'FILLED',
  'CANCELLED',
  'EXPIRED',
] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<OrderStatus> = new Set<OrderStatus>(['REJECTED', 'FILLED', 'CANCELLED', 'EXPIRED']);

export function isTerminal(status: OrderStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

/** Statuses from which a cancel request is accepted. */
export const CANCELLABLE_STATUSES: ReadonlySet<OrderStatus> = new Set<OrderStatus>(['ACCEPTED', 'PARTIALLY_FILLED']);

/**
 * from -> allowed next statuses. PENDING_CANCEL -> ACCEPTED / PARTIALLY_FILLED is the
 * venue refusing a cancel ("returns to the previous status"); PENDING_CANCEL ->
 * PARTIALLY_FILLED is also a fill that arrives while the cancel is pending.
 */
export const TRANSITIONS: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  NEW: ['ACCEPTED', 'REJECTED', 'FILLED', 'PARTIALLY_FILLED', 'CANCELLED'],
  ACCEPTED: ['PARTIALLY_FILLED', 'FILLED', 'PENDING_CANCEL', 'CANCELLED', 'EXPIRED'],
  PARTIALLY_FILLED: ['PARTIALLY_FILLED', 'FILLED', 'PENDING_CANCEL', 'CANCELLED', 'EXPIRED'],
  PENDING_CANCEL: ['CANCELLED', 'FILLED', 'PARTIALLY_FILLED', 'EXPIRED', 'ACCEPTED'],
  REJECTED: [],
  FILLED: [],
  CANCELLED: [],
  EXPIRED: [],
};

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

export class IllegalTransitionError extends Error {
  constructor(readonly from: OrderStatus, readonly to: OrderStatus) {
    super(`illegal order transition ${from} -> ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export function assertTransition(from: OrderStatus, to: OrderStatus): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}

/** Why a cancel request is refused, or null when it is accepted. */
export function cancelRefusal(status: OrderStatus, cancelInProgress: boolean, acceptWhileNew = false): string | null {
  if (isTerminal(status)) return `order is already ${status}`;
  if (status === 'PENDING_CANCEL' || cancelInProgress) return 'a cancel is already pending for this order';
  // Taken while NEW: the order ends before submission, or stops a submission under way.
  if (status === 'NEW' && acceptWhileNew) return null;
  if (!CANCELLABLE_STATUSES.has(status)) return `order is ${status}: not yet accepted by the venue, try again shortly`;
  return null;
}

/** One execution at the venue, as the order records it. Decimals are strings. */
export interface OrderFill {
  tradeId: string;
  quantity: string;
  price: string;
  fee: string;
  feeAsset: string;
  at: string;
}

/** What a client asks for when it places an order. Decimals are strings. */
export interface PlaceOrderRequest {
  clientOrderId: string;
  accountId: string;
  symbol: string;
  side: OrderSide;
  type: OrderType;
  quantity: string;
  limitPrice: string | null;
  timeInForce: TimeInForce;
  /** GTD: when the order expires; for a DAY order, the session close it expires at. */
  expireAt: string | null;
}

/**
 * The order as the workflow owns it and every reader sees it: the terms it was placed
 * with, and where it stands. Decimals are strings.
 */
export interface OrderSnapshot extends PlaceOrderRequest {
  orderId: string;
  status: OrderStatus;
  filledQuantity: string;
  leavesQuantity: string;
  averageFillPrice: string | null;
  /** Sum of quantity x price over the fills (quote asset). */
  notional: string;
  /** Fees charged so far, in feeAsset (the quote asset). */
  fees: string;
  feeAsset: string | null;
  /** What the order still holds locked, in lockedAsset. */
  lockedAsset: string | null;
  lockedAmount: string;
  fills: OrderFill[];
  rejectReason: string | null;
  cancelReason: string | null;
  createdAt: string;
  updatedAt: string;
  /** Incremented on every change the workflow commits; the read model stores it. */
  version: number;
}

/** The order as it starts: version 0, NEW, nothing filled, locked or decided yet. */
export function newOrder(orderId: string, r: PlaceOrderRequest, at: string): OrderSnapshot {
  return {
    orderId,
    clientOrderId: r.clientOrderId,
    accountId: r.accountId,
    symbol: r.symbol,
    side: r.side,
    type: r.type,
    quantity: r.quantity,
    limitPrice: r.limitPrice,
    timeInForce: r.timeInForce,
    expireAt: r.expireAt,
    status: 'NEW',
    filledQuantity: '0',
    leavesQuantity: r.quantity,
    averageFillPrice: null,
    notional: '0',
    fees: '0',
    feeAsset: null,
    lockedAsset: null,
    lockedAmount: '0',
    fills: [],
    rejectReason: null,
    cancelReason: null,
    createdAt: at,
    updatedAt: at,
    version: 0,
  };
}

/**
 * Fields of a request that identify it: a retry with other values is a conflict.
 * expireAt counts only for GTD (a DAY order's expiry is derived, not requested).
 */
export function requestFingerprint(r: PlaceOrderRequest): string {
  const expireAt = r.timeInForce === 'GTD' ? (r.expireAt ?? '') : '';
  return [r.accountId, r.clientOrderId, r.symbol, r.side, r.type, r.quantity, r.limitPrice ?? '', r.timeInForce, expireAt].join('|');
}
