/**
 * The portfolio subscriber: per account, cash per asset and a position per instrument
 * in every base asset the account holds, from ONE ordered source per account: its
 * funds events (stream `funds`, one aggregate per account, sequence = the order the
 * ledger committed them in). Each funds event is one ledger transaction of the
 * account, and a fill's `funds.settled` carries the trade and every movement of its
 * transaction, so after each event the projection IS the ledger's balances after
 * that transaction: it never shows a state the ledger never had. What it reflects
 * is `asOf` (the last funds sequence applied, and its time).
 *
 * Cash mirrors the ledger: total = available + locked, locked = what open orders hold.
 * Positions (domain/positions.ts, shared with the report) count every movement of the
 * base asset: deposits (at their cost basis), withdrawals (at the average cost) and
 * trades (average cost, realized P&L on sells, fees in the basis). Positions are
 * marked to the venue's market price when read (store.ts), not here.
 *
 * Every write goes through the runner's transaction (exactly-once effect) and depends
 * only on the event, so a rebuild reproduces the same rows.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { assertStorable, dec, Decimal, ZERO } from '../../domain/decimal';
import { applyDeposit, applyTrade as applyToPosition, FLAT, withdrawUpTo, type CostSource, type Position } from '../../domain/positions';
import type { EventData, EventEnvelope, EventType } from '../../events/catalogue';
import type { Logger } from '../../runtime/logger';
import type { SubscriberDefinition } from '../framework';
import {
  addCash,
  lockHolding,
  recordAsOf,
  resetPortfolio,
  restorePortfolio,
  saveHolding,
  snapshotPortfolio,
  type CashChange,
  type PortfolioSnapshotState,
  type StoredPosition,
} from './store';

const EVENT_TYPES = ['funds.deposited', 'funds.withdrawn', 'funds.locked', 'funds.released', 'funds.settled'] as const satisfies readonly EventType[];
type FundsEventType = (typeof EVENT_TYPES)[number];

type Instrument = NonNullable<EventData<'funds.deposited'>['instrument']>;

const EMPTY: StoredPosition = { ...FLAT, realizedPnl: ZERO, fees: ZERO, costSource: 'trades' };

async function savePosition(em: EntityManager, accountId: string, instrument: Instrument, at: string, p: StoredPosition): Promise<void> {
  await saveHolding(em, { accountId, symbol: instrument.symbol, baseAsset: instrument.baseAsset, quoteAsset: instrument.quoteAsset, at, ...p });
}

async function applySettlement(em: EntityManager, event: EventEnvelope, t: EventData<'funds.settled'>): Promise<CashChange[]> {
  const fee = dec(t.fee);
  // Fees are charged in the quote asset (the cost basis is in it); anything else is not
  // something this projection can value: fail loudly (dead letter) rather than guess.
  if (!fee.isZero() && t.feeAsset !== t.quoteAsset) throw new Error(`trade ${t.tradeId}: fee in ${t.feeAsset}, not in the quote asset ${t.quoteAsset}`);
  const stored = (await lockHolding(em, t.accountId, t.symbol)) ?? EMPTY;
  const { position, realized } = applyToPosition(stored, { side: t.side, quantity: dec(t.quantity), price: dec(t.price), fee });
  // Units a trade adds cost what it paid; the worse source of those held before stays until flat.
  const costSource: CostSource = position.netQuantity.isZero() || stored.netQuantity.isZero() ? 'trades' : stored.costSource;
  await savePosition(em, t.accountId, t, event.timestamp, {
    ...position,
    costSource,
    realizedPnl: assertStorable(stored.realizedPnl.plus(realized), 'realized P&L'),
    fees: assertStorable(stored.fees.plus(fee), 'fees'),
  });
  // Cash: exactly what the ledger transaction moved (including a price improvement released).
  return t.movements.map((m) => ({ asset: m.asset, total: dec(m.available).plus(dec(m.locked)), locked: dec(m.locked) }));
}

async function applyDepositOrWithdrawal(em: EntityManager, event: EventEnvelope, type: 'funds.deposited' | 'funds.withdrawn', logger: Logger): Promise<CashChange[]> {
  const d = event.data as EventData<'funds.deposited'>;
  const amount = dec(d.amount);
  if (d.instrument) {
    const stored = (await lockHolding(em, d.accountId, d.instrument.symbol)) ?? EMPTY;
    const cost = d.costBasis ?? { price: '0', source: 'none' as const };
    let moved: Position & { costSource: CostSource };
    if (type === 'funds.deposited') moved = applyDeposit(stored, amount, { price: dec(cost.price), source: cost.source });
    else {
      const w = withdrawUpTo(stored, amount);
      if (!w.beyond.isZero()) logger.warn({ eventId: event.eventId, beyond: w.beyond.toFixed() }, 'a withdrawal beyond the position (units deposited before positions counted deposits)');
      moved = w.position;
    }
    await savePosition(em, d.accountId, d.instrument, event.timestamp, { ...stored, ...moved });
  }
  return [{ asset: d.asset, total: type === 'funds.deposited' ? amount : amount.neg(), locked: ZERO }];
}

function lockOrRelease(type: 'funds.locked' | 'funds.released', d: EventData<'funds.locked'> | EventData<'funds.released'>): CashChange[] {
  // A release that is part of a fill's settlement is counted by its funds.settled, which follows it.
  if ('tradeId' in d && d.tradeId !== undefined) return [];
  const amount: Decimal = dec(d.amount);
  return [{ asset: d.asset, total: ZERO, locked: type === 'funds.locked' ? amount : amount.neg() }];
}

export const portfolioSubscriber: SubscriberDefinition = {
  name: 'portfolio',
  subscriptions: [{ stream: 'funds' }],
  eventTypes: EVENT_TYPES,

  async handle(em, event, logger) {
    const type = event.eventType as FundsEventType;
    const accountId = (event.data as { accountId: string }).accountId;
    let cash: CashChange[];
    switch (type) {
      case 'funds.settled':
        cash = await applySettlement(em, event, event.data as EventData<'funds.settled'>);
        break;
      case 'funds.deposited':
      case 'funds.withdrawn':
        cash = await applyDepositOrWithdrawal(em, event, type, logger);
        break;
      case 'funds.locked':
      case 'funds.released':
        cash = lockOrRelease(type, event.data as EventData<typeof type>);
        break;
      default:
        throw new Error(`portfolio does not handle ${String(type satisfies never)}`);
    }
    await addCash(em, accountId, cash, event.timestamp);
    await recordAsOf(em, accountId, event);
  },

  async reset(em) {
    await resetPortfolio(em);
  },

  snapshot: snapshotPortfolio,
  async restore(em, state) {
    await restorePortfolio(em, state as PortfolioSnapshotState);
  },
};
