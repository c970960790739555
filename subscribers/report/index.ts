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
 *   position (see pnl.ts). The trades of an account are one aggregate, applied one at
 *   a time in sequence order by the runner, so the position is updated in trade order.
 *
 * NATS 2.9 allows one filter subject per consumer, so the whole orders stream is
 * consumed and the non-outcome events are recorded and skipped (eventTypes).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { assertStorable, dec, str } from '../../domain/decimal';
import type { EventData, EventEnvelope, EventType } from '../../events/catalogue';
import type { SubscriberDefinition } from '../framework';
import { applyTrade, FLAT, type Position } from '../../domain/positions';

export const REPORT_SUBSCRIBER = 'report';

export const OUTCOMES = ['created', 'filled', 'cancelled', 'expired', 'rejected'] as const;
export type OrderOutcome = (typeof OUTCOMES)[number];

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

async function countOutcome(em: EntityManager, event: EventEnvelope): Promise<void> {
  const { order } = event.data as EventData<OutcomeEvent>;
  await em.execute(
    `insert into report_order_outcomes (account_id, day, outcome, count) values (?, ?, ?, 1)
     on conflict (account_id, day, outcome) do update set count = report_order_outcomes.count + 1`,
    [order.accountId, utcDay(event.timestamp), OUTCOME_OF_EVENT[event.eventType as OutcomeEvent]],
  );
}

async function applyTradeEvent(em: EntityManager, event: EventEnvelope): Promise<void> {
  const t = event.data as EventData<'trade.executed'>;
  // Fees and P&L are summed in the quote asset; a fee in another asset cannot be.
  if (t.feeAsset !== t.quoteAsset) throw new Error(`trade ${t.tradeId}: fee in ${t.feeAsset}, not in the quote asset ${t.quoteAsset}; the report cannot add it up`);

  const [row] = await em.execute<{ net_quantity: string; average_cost: string }[]>(
    'select net_quantity, average_cost from report_positions where account_id = ? and symbol = ?',
    [t.accountId, t.symbol],
  );
  const before: Position = row ? { netQuantity: dec(row.net_quantity), averageCost: dec(row.average_cost) } : FLAT;
  const quantity = dec(t.quantity);
  const notional = dec(t.notional);
  const fee = dec(t.fee);
  const { position, realized } = applyTrade(before, { side: t.side, quantity, price: dec(t.price), fee });
  assertStorable(position.netQuantity, 'report position');
  assertStorable(position.averageCost, 'report average cost');

  await em.execute(
    `insert into report_positions (account_id, symbol, net_quantity, average_cost) values (?, ?, ?, ?)
     on conflict (account_id, symbol) do update set net_quantity = excluded.net_quantity, average_cost = excluded.average_cost`,
    [t.accountId, t.symbol, str(position.netQuantity), str(position.averageCost)],
  );
  const buy = t.side === 'BUY';
  await em.execute(
    `insert into report_symbol_days (account_id, day, symbol, quote_asset, buy_quantity, sell_quantity, buy_notional, sell_notional, fees, realized_pnl, trades)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)
     on conflict (account_id, day, symbol) do update set
       buy_quantity = report_symbol_days.buy_quantity + excluded.buy_quantity,
       sell_quantity = report_symbol_days.sell_quantity + excluded.sell_quantity,
       buy_notional = report_symbol_days.buy_notional + excluded.buy_notional,
       sell_notional = report_symbol_days.sell_notional + excluded.sell_notional,
       fees = report_symbol_days.fees + excluded.fees,
       realized_pnl = report_symbol_days.realized_pnl + excluded.realized_pnl,
       trades = report_symbol_days.trades + 1`,
    [
      t.accountId,
      utcDay(t.executedAt),
      t.symbol,
      t.quoteAsset,
      buy ? str(quantity) : '0',
      buy ? '0' : str(quantity),
      buy ? str(notional) : '0',
      buy ? '0' : str(notional),
      str(fee),
      str(realized),
    ],
  );
}

export const reportSubscriber: SubscriberDefinition = {
  name: REPORT_SUBSCRIBER,
  subscriptions: [{ stream: 'orders' }, { stream: 'trades' }],
  eventTypes: [...(Object.keys(OUTCOME_OF_EVENT) as OutcomeEvent[]), 'trade.executed'],

  async handle(em, event) {
    if (event.eventType === 'trade.executed') await applyTradeEvent(em, event);
    else await countOutcome(em, event);
  },

  async reset(em) {
    await em.execute('truncate report_order_outcomes, report_symbol_days, report_positions');
  },
};
