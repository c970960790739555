/**
 * The portfolio subscriber: per account, cash per asset and positions per symbol,
 * projected from trade.executed (stream `trades`) and the funds events (stream
 * `funds`); plus the last trade price per symbol, from every account's trades.
 *
 * Cash mirrors the ledger: total = deposits - withdrawals +/- trades - fees, locked =
 * what open orders hold (funds.locked adds, funds.released subtracts, and a trade
 * consumes its share of the lock: a BUY `notional + fee` of the quote, a SELL
 * `quantity` of the base), available = total - locked (computed on read).
 * Positions use the average-cost method of domain/positions.ts (shared with the report).
 *
 * Every write goes through the runner's transaction (exactly-once effect) and depends
 * only on the event, so a rebuild reproduces the same rows. Cash changes are atomic
 * increments (`total = total + delta`): the trades and funds of one account are two
 * aggregates that may be applied concurrently, by two copies of this subscriber.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { assertStorable, dec, Decimal, ZERO } from '../../domain/decimal';
import { applyTrade as applyToPosition, FLAT } from '../../domain/positions';
import type { EventData, EventEnvelope, EventType } from '../../events/catalogue';
import type { SubscriberDefinition } from '../framework';
import { addCash, lockHolding, recordLastPrice, resetPortfolio, saveHolding, type CashChange } from './store';

const EVENT_TYPES = ['trade.executed', 'funds.deposited', 'funds.withdrawn', 'funds.locked', 'funds.released'] as const satisfies readonly EventType[];

/** Collects cash changes per asset. */
class CashChanges {
  private readonly byAsset = new Map<string, CashChange>();

  add(asset: string, total: Decimal, locked: Decimal = ZERO): this {
    const c = this.byAsset.get(asset) ?? { asset, total: ZERO, locked: ZERO };
    this.byAsset.set(asset, { asset, total: c.total.plus(total), locked: c.locked.plus(locked) });
    return this;
  }

  list(): CashChange[] {
    return [...this.byAsset.values()];
  }
}

async function applyTrade(em: EntityManager, event: EventEnvelope, t: EventData<'trade.executed'>): Promise<void> {
  const quantity = dec(t.quantity);
  const price = dec(t.price);
  const notional = dec(t.notional);
  const fee = dec(t.fee);
  // Fees are charged in the quote asset (the cost basis is in it); anything else is not
  // something this projection can value: fail loudly (dead letter) rather than guess.
  if (!fee.isZero() && t.feeAsset !== t.quoteAsset) throw new Error(`trade ${t.tradeId}: fee in ${t.feeAsset}, not in the quote asset ${t.quoteAsset}`);

  // Cash. A BUY consumes notional + fee of its quote lock; a SELL its quantity of the base lock.
  const cash = new CashChanges();
  if (t.side === 'BUY') {
    cash.add(t.baseAsset, quantity).add(t.quoteAsset, notional.plus(fee).neg(), notional.plus(fee).neg());
  } else {
    cash.add(t.baseAsset, quantity.neg(), quantity.neg()).add(t.quoteAsset, notional.minus(fee));
  }
  await addCash(em, t.accountId, cash.list(), event.timestamp);

  // Position: read (locked), apply, write.
  const stored = await lockHolding(em, t.accountId, t.symbol);
  const { position, realized } = applyToPosition(stored ?? FLAT, { side: t.side, quantity, price, fee });
  await saveHolding(em, {
    accountId: t.accountId,
    symbol: t.symbol,
    baseAsset: t.baseAsset,
    quoteAsset: t.quoteAsset,
    at: event.timestamp,
    ...position,
    realizedPnl: assertStorable((stored?.realizedPnl ?? ZERO).plus(realized), 'realized P&L'),
    fees: assertStorable((stored?.fees ?? ZERO).plus(fee), 'fees'),
  });

  await recordLastPrice(em, t);
}

export const portfolioSubscriber: SubscriberDefinition = {
  name: 'portfolio',
  subscriptions: [{ stream: 'trades' }, { stream: 'funds' }],
  eventTypes: EVENT_TYPES,

  async handle(em, event) {
    const type = event.eventType as (typeof EVENT_TYPES)[number];
    switch (type) {
      case 'trade.executed':
        return applyTrade(em, event, event.data as EventData<'trade.executed'>);
      case 'funds.deposited':
      case 'funds.withdrawn':
      case 'funds.locked':
      case 'funds.released': {
        const d = event.data as EventData<typeof type>;
        const amount = dec(d.amount);
        const cash = new CashChanges();
        if (type === 'funds.deposited') cash.add(d.asset, amount);
        else if (type === 'funds.withdrawn') cash.add(d.asset, amount.neg());
        else if (type === 'funds.locked') cash.add(d.asset, ZERO, amount);
        else cash.add(d.asset, ZERO, amount.neg());
        return addCash(em, d.accountId, cash.list(), event.timestamp);
      }
      default:
        throw new Error(`portfolio does not handle ${String(type satisfies never)}`);
    }
  },

  async reset(em) {
    await resetPortfolio(em);
  },
};
