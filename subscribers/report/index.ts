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
 * - quantities, notionals, fees and realized P&L come from the `funds` stream: each
 *   fill's `funds.settled` (the trade, dated by its `executedAt`), and deposits and
 *   withdrawals of a base asset (dated by the event's `timestamp`), which the report
 *   counts per symbol and day and which move the running position exactly as they
 *   move the portfolio's (domain/positions.ts): a deposit adds at its cost basis, a
 *   withdrawal takes units out at the average cost. Every movement of an account is
 *   one aggregate (its funds), applied one at a time in ledger order by the runner,
 *   so the report's position, realized P&L and the portfolio's always agree.
 *
 * Every statement on the report's tables is in store.ts.
 *
 * NATS 2.9 allows one filter subject per consumer, so the whole orders and funds
 * streams are consumed and the other events are recorded and skipped (eventTypes).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { assertStorable, dec, ZERO } from '../../domain/decimal';
import { applyDeposit, applyTrade, withdrawUpTo } from '../../domain/positions';
import type { EventData, EventEnvelope, EventType } from '../../events/catalogue';
import type { SubscriberDefinition } from '../framework';
import {
  addToSymbolDay,
  countOutcome,
  findReportPosition,
  resetReport,
  restoreReport,
  saveReportPosition,
  snapshotReport,
  type OrderOutcome,
  type ReportSnapshotState,
} from './store';

export const REPORT_SUBSCRIBER = 'report';

/** A symbol-day change that adds nothing (each event fills in its own part). */
const NOTHING = { buyQuantity: ZERO, sellQuantity: ZERO, buyNotional: ZERO, sellNotional: ZERO, fees: ZERO, realizedPnl: ZERO, depositQuantity: ZERO, withdrawalQuantity: ZERO };

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
  const t = event.data as EventData<'funds.settled'>;
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
    ...NOTHING,
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

/** A deposit or withdrawal of a base asset: counted on its symbol's day, and moves the running position. */
async function applyMovementEvent(em: EntityManager, event: EventEnvelope): Promise<void> {
  const d = event.data as EventData<'funds.deposited'>;
  if (!d.instrument) return; // a quote asset: cash, not a position
  const deposited = event.eventType === 'funds.deposited';
  const quantity = dec(d.amount);
  const before = await findReportPosition(em, d.accountId, d.instrument.symbol);
  // The report keeps no cost source; the valuation is the portfolio's rule (the same price).
  const held = { ...before, costSource: 'trades' as const };
  const cost = d.costBasis ?? { price: '0', source: 'none' as const };
  // At most what the report's position holds (one built before deposits counted may hold less).
  const after = deposited ? applyDeposit(held, quantity, { price: dec(cost.price), source: cost.source }) : withdrawUpTo(held, quantity).position;
  await saveReportPosition(em, d.accountId, d.instrument.symbol, after);
  await addToSymbolDay(em, {
    ...NOTHING,
    accountId: d.accountId,
    day: utcDay(event.timestamp),
    symbol: d.instrument.symbol,
    quoteAsset: d.instrument.quoteAsset,
    depositQuantity: deposited ? quantity : ZERO,
    withdrawalQuantity: deposited ? ZERO : quantity,
  });
}

export const reportSubscriber: SubscriberDefinition = {
  name: REPORT_SUBSCRIBER,
  subscriptions: [{ stream: 'orders' }, { stream: 'funds' }],
  eventTypes: [...(Object.keys(OUTCOME_OF_EVENT) as OutcomeEvent[]), 'funds.settled', 'funds.deposited', 'funds.withdrawn'],

  async handle(em, event) {
    if (event.eventType === 'funds.settled') await applyTradeEvent(em, event);
    else if (event.eventType === 'funds.deposited' || event.eventType === 'funds.withdrawn') await applyMovementEvent(em, event);
    else await applyOutcomeEvent(em, event);
  },

  async reset(em) {
    await resetReport(em);
  },

  snapshot: snapshotReport,
  async restore(em, state) {
    await restoreReport(em, state as ReportSnapshotState);
  },
};
