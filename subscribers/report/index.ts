/**
 * The report subscriber (event-sourced): per account and UTC day, orders by outcome,
 * and per symbol the filled quantities and notionals, fees and realized P&L.
 *
 * It reads nothing but its events (never the orders or ledger tables) and uses only
 * times carried by them, so `npm run rebuild-report` (scripts/rebuild-report.ts),
 * which empties the tables and replays the streams, reproduces the report exactly:
 * - outcomes come from the `orders` stream, dated by the event's `timestamp`:
 *   `order.created` counts as created, and each terminal event (`order.filled`,
 *   `order.cancelled`, `order.expired`, `order.rejected`) counts its order once;
 * - quantities, notionals, fees and realized P&L come from `trade.executed` on the
 *   `trades` stream, dated by the trade's `executedAt`. Realized P&L needs the running
 *   position (domain/positions.ts). The trades of an account are one aggregate,
 *   applied one at a time in sequence order by the runner, so the position is updated
 *   in trade order.
 *
 * Every statement on the report's tables is in store.ts.
 *
 * NATS 2.9 allows one filter subject per consumer, so the whole orders stream is
 * consumed and the non-outcome events are recorded and skipped (eventTypes).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { assertStorable, dec, ZERO } from '../../domain/decimal';
import { applyTrade } from '../../domain/positions';
import type { EventData, EventEnvelope, EventType } from '../../events/catalogue';
import type { SubscriberDefinition } from '../framework';
import { addToSymbolDay, countOutcome, findReportPosition, resetReport, saveReportPosition, type OrderOutcome } from './store';

export const REPORT_SUBSCRIBER = 'report';

const OUTCOME_OF_EVENT = {
  'order.created': 'created',
  'order.filled': 'filled',
  'order.cancelled': 'cancelled',
  'order.expired': 'expired',
  'order.rejected': 'rejected',
} as const satisfies Partial<Record<EventType, OrderOutcome>>;

type OutcomeEvent = keyof typeof OUTCOME_OF_EVENT;

/** The UTC calendar day (YYYY-MM-DD) of an ISO 8601 time (which may carry an offset). */
export function utcDay(isoTime: string): string {
  return new Date(isoTime).toISOString().slice(0, 10);
}

async function applyOutcomeEvent(em: EntityManager, event: EventEnvelope): Promise<void> {
  const { order } = event.data as EventData<OutcomeEvent>;
  await countOutcome(em, { accountId: order.accountId, day: utcDay(event.timestamp), outcome: OUTCOME_OF_EVENT[event.eventType as OutcomeEvent] });
}

async function applyTradeEvent(em: EntityManager, event: EventEnvelope): Promise<void> {
  const t = event.data as EventData<'trade.executed'>;
  // Fees and P&L are summed in the quote asset; a fee in another asset cannot be.
  if (t.feeAsset !== t.quoteAsset) throw new Error(`trade ${t.tradeId}: fee in ${t.feeAsset}, not in the quote asset ${t.quoteAsset}; the report cannot add it up`);

  const before = await findReportPosition(em, t.accountId, t.symbol);
  const quantity = dec(t.quantity);
  const notional = dec(t.notional);
  const fee = dec(t.fee);
  const { position, realized } = applyTrade(before, { side: t.side, quantity, price: dec(t.price), fee });
  assertStorable(position.netQuantity, 'report position');
  assertStorable(position.averageCost, 'report average cost');

  await saveReportPosition(em, t.accountId, t.symbol, position);
  const buy = t.side === 'BUY';
  await addToSymbolDay(em, {
    accountId: t.accountId,
    day: utcDay(t.executedAt),
    symbol: t.symbol,
    quoteAsset: t.quoteAsset,
    buyQuantity: buy ? quantity : ZERO,
    sellQuantity: buy ? ZERO : quantity,
    buyNotional: buy ? notional : ZERO,
    sellNotional: buy ? ZERO : notional,
    fees: fee,
    realizedPnl: realized,
  });
}

export const reportSubscriber: SubscriberDefinition = {
  name: REPORT_SUBSCRIBER,
  subscriptions: [{ stream: 'orders' }, { stream: 'trades' }],
  eventTypes: [...(Object.keys(OUTCOME_OF_EVENT) as OutcomeEvent[]), 'trade.executed'],

  async handle(em, event) {
    if (event.eventType === 'trade.executed') await applyTradeEvent(em, event);
    else await applyOutcomeEvent(em, event);
  },

  async reset(em) {
    await resetReport(em);
  },
};
