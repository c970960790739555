/**
 * What a notification says: which order events are notified, which of them are
 * alerts, the human title, and the JSON body every channel carries:
 *
 *   { eventId, eventType, occurredAt, accountId, title, order, fill?, reason? }
 *
 * `order` is the full order snapshot after the change (with its fills), `fill` the
 * fill of a (partial) fill or the refused fill, `reason` why an order was rejected,
 * cancelled or expired, or why a fill or cancel was refused. Everything here derives
 * from the event alone, so a notification is the same however often it is built.
 */
import type { EventEnvelope, EventType } from '../../events/catalogue';
import type { OrderSnapshot } from '../../domain/order';

/** The order events the subscriber notifies (a webhook's `events` is a subset of these). */
export const NOTIFIED_EVENT_TYPES = [
  'order.partially_filled',
  'order.filled',
  'order.rejected',
  'order.cancelled',
  'order.expired',
  'order.fill_refused',
  'order.cancel_refused',
] as const satisfies readonly EventType[];
export type NotifiedEventType = (typeof NOTIFIED_EVENT_TYPES)[number];

/** Events that need someone's attention (logged at warn level). */
export const ALERT_EVENT_TYPES: ReadonlySet<string> = new Set<NotifiedEventType>(['order.fill_refused', 'order.cancel_refused']);

interface NotifiedFill {
  tradeId: string;
  quantity: string;
  price: string;
}

/** The data of every notified event: an order event, with its fill or reason when it has one. */
export interface OrderEventData {
  order: OrderSnapshot;
  fill?: NotifiedFill & Record<string, unknown>;
  reason?: string | null;
}

export interface NotificationPayload {
  eventId: string;
  eventType: string;
  occurredAt: string;
  accountId: string;
  title: string;
  order: OrderSnapshot;
  fill?: OrderEventData['fill'];
  reason?: string;
}

function progress(o: OrderSnapshot): string {
  return `(${o.filledQuantity} of ${o.quantity} filled)`;
}

/** A one-line human summary, e.g. "Order c-1 filled: BUY 2 BTC-USD at 99". */
export function titleOf(eventType: string, data: OrderEventData): string {
  const o = data.order;
  const name = `Order ${o.clientOrderId}`;
  const reason = data.reason ?? 'no reason given';
  const wasFilled = o.filledQuantity !== '0';
  switch (eventType) {
    case 'order.filled':
      return `${name} filled: ${o.side} ${o.filledQuantity} ${o.symbol} at ${o.averageFillPrice ?? data.fill?.price ?? '?'}`;
    case 'order.partially_filled':
      return `${name} partially filled: ${o.side} ${data.fill?.quantity ?? '?'} ${o.symbol} at ${data.fill?.price ?? '?'} ${progress(o)}`;
    case 'order.rejected':
      return `${name} rejected: ${reason}`;
    case 'order.cancelled':
      return `${name} cancelled: ${reason}${wasFilled ? ` ${progress(o)}` : ''}`;
    case 'order.expired':
      return `${name} expired: ${reason}${wasFilled ? ` ${progress(o)}` : ''}`;
    case 'order.fill_refused':
      return `ALERT: ${name} refused a fill of ${data.fill?.quantity ?? '?'} ${o.symbol} at ${data.fill?.price ?? '?'} (trade ${data.fill?.tradeId ?? '?'}): ${reason}`;
    case 'order.cancel_refused':
      return `ALERT: cancel of ${name} refused: ${reason}`;
    default:
      return `${name}: ${eventType}`;
  }
}

/** The body every channel carries for one event. */
export function payloadOf(event: EventEnvelope): NotificationPayload {
  const data = event.data as OrderEventData;
  return {
    eventId: event.eventId,
    eventType: event.eventType,
    occurredAt: event.timestamp,
    accountId: data.order.accountId,
    title: titleOf(event.eventType, data),
    order: data.order,
    ...(data.fill ? { fill: data.fill } : {}),
    ...(data.reason != null ? { reason: data.reason } : {}),
  };
}
