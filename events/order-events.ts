/**
 * The events an order change produces, derived in one place from what the workflow
 * committed: the order event for its transition (with the full order snapshot), a
 * trade per fill, and the funds it locked or released.
 */
import { dec, str, sum } from '../domain/decimal';
import type { Posting } from '../domain/funds';
import type { OrderFill, OrderSnapshot, OrderStatus } from '../domain/order';
import type { EventData } from './catalogue';
import { draft, eventIdFor, type EventDraft } from './outbox';

export interface OrderChangeFacts {
  /** The order after the change (without its fills list). */
  order: Omit<OrderSnapshot, 'fills'>;
  transition: { from: OrderStatus | null; to: OrderStatus; reason: string | null } | null;
  postings: Posting[];
  fill: OrderFill | null;
  instrument: { baseAsset: string; quoteAsset: string } | null;
}

function orderEventType(t: NonNullable<OrderChangeFacts['transition']>, hasFill: boolean): EventDraft['eventType'] {
  if (t.from === null) return 'order.created';
  switch (t.to) {
    case 'ACCEPTED':
      return t.from === 'PENDING_CANCEL' ? 'order.cancel_refused' : 'order.accepted';
    case 'PARTIALLY_FILLED':
      return hasFill ? 'order.partially_filled' : 'order.cancel_refused';
    case 'FILLED':
      return 'order.filled';
    case 'PENDING_CANCEL':
      return 'order.cancel_requested';
    case 'CANCELLED':
      return 'order.cancelled';
    case 'EXPIRED':
      return 'order.expired';
    case 'REJECTED':
      return 'order.rejected';
    default:
      throw new Error(`no event for a transition to ${t.to}`);
  }
}

/** Net amount per asset of the customer's postings of one kind into one bucket. */
function movedInto(postings: Posting[], kind: Posting['kind'], bucket: 'available' | 'locked'): Map<string, string> {
  const byAsset = new Map<string, string>();
  for (const asset of new Set(postings.map((p) => p.asset))) {
    const amount = sum(postings.filter((p) => p.asset === asset && p.kind === kind && p.book === 'customer' && p.bucket === bucket).map((p) => dec(p.amount)));
    if (amount.greaterThan(0)) byAsset.set(asset, str(amount));
  }
  return byAsset;
}

/**
 * Drafts in order: the order event first (the others name it as their cause), then
 * the trade, then funds movements. `key` is the change's idempotency key.
 */
export function orderChangeEvents(facts: OrderChangeFacts, key: string): EventDraft[] {
  const { order, transition, fill } = facts;
  const drafts: EventDraft[] = [];
  if (transition) {
    const type = orderEventType(transition, fill !== null);
    const reason = transition.reason;
    if (type === 'order.partially_filled' || type === 'order.filled') drafts.push(draft(type, { order, fill: fill as OrderFill }));
    else if (type === 'order.created' || type === 'order.accepted') drafts.push(draft(type, { order }));
    else if (type === 'order.cancel_requested') drafts.push(draft(type, { order, reason }));
    else drafts.push(draft(type, { order, reason: reason ?? '' }));
  }
  // Secondary events are caused by the first one of the change.
  const primary = drafts.length > 0 ? eventIdFor(key, 0) : undefined;

  const trade = fill && facts.instrument ? tradeOf(facts, fill, facts.instrument) : null;
  if (trade) drafts.push(draft('trade.executed', trade, primary));

  for (const [asset, amount] of movedInto(facts.postings, 'LOCK', 'locked')) {
    drafts.push(draft('funds.locked', { accountId: order.accountId, asset, amount, orderId: order.orderId }, primary));
  }
  const reason = fill ? 'price improvement' : `order ${transition?.to.toLowerCase() ?? 'changed'}`;
  for (const [asset, amount] of movedInto(facts.postings, 'RELEASE', 'available')) {
    const released = { accountId: order.accountId, asset, amount, orderId: order.orderId, reason };
    drafts.push(draft('funds.released', trade ? { ...released, tradeId: trade.tradeId } : released, primary));
  }
  // Last: the whole settlement, so the funds stream alone holds every balance change of
  // the account, one ledger transaction per event that changes anything.
  if (trade) drafts.push(draft('funds.settled', { ...trade, movements: customerMovements(facts.postings) }, primary));
  return drafts;
}

function tradeOf(facts: OrderChangeFacts, fill: OrderFill, instrument: NonNullable<OrderChangeFacts['instrument']>): EventData<'trade.executed'> {
  const { order } = facts;
  return {
    tradeId: fill.tradeId,
    orderId: order.orderId,
    accountId: order.accountId,
    symbol: order.symbol,
    side: order.side,
    baseAsset: instrument.baseAsset,
    quoteAsset: instrument.quoteAsset,
    quantity: fill.quantity,
    price: fill.price,
    notional: str(dec(fill.quantity).times(dec(fill.price))),
    fee: fill.fee,
    feeAsset: fill.feeAsset,
    executedAt: fill.at,
  };
}

/** The customer's net movement per asset and bucket in one ledger transaction (assets in code order). */
function customerMovements(postings: Posting[]): EventData<'funds.settled'>['movements'] {
  const own = postings.filter((p) => p.book === 'customer');
  return [...new Set(own.map((p) => p.asset))].sort().map((asset) => {
    const bucket = (b: 'available' | 'locked') => str(sum(own.filter((p) => p.asset === asset && p.bucket === b).map((p) => dec(p.amount))));
    return { asset, available: bucket('available'), locked: bucket('locked') };
  });
}
