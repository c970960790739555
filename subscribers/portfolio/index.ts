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
import { assertStorable, dec, Decimal, str, ZERO } from '../../domain/decimal';
import { applyTrade as applyToPosition, FLAT, type Position } from '../../domain/positions';
import type { EventData, EventEnvelope, EventType } from '../../events/catalogue';
import type { SubscriberDefinition } from '../framework';

const EVENT_TYPES = ['trade.executed', 'funds.deposited', 'funds.withdrawn', 'funds.locked', 'funds.released'] as const satisfies readonly EventType[];

interface CashDelta {
  total: Decimal;
  locked: Decimal;
}

/** Adds deltas to the account's cash rows (one statement; rows in asset order, so concurrent writers lock alike). */
async function addCash(em: EntityManager, accountId: string, deltas: Map<string, CashDelta>, at: string): Promise<void> {
  const rows = [...deltas].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (rows.length === 0) return;
  const params: unknown[] = [];
  for (const [asset, d] of rows) params.push(accountId, asset, str(d.total), str(d.locked), at);
  await em.execute(
    `insert into portfolio_cash (account_id, asset, total, locked, updated_at) values ${rows.map(() => '(?, ?, ?, ?, ?)').join(', ')}
     on conflict (account_id, asset) do update set
       total = portfolio_cash.total + excluded.total,
       locked = portfolio_cash.locked + excluded.locked,
       updated_at = greatest(portfolio_cash.updated_at, excluded.updated_at)`,
    params,
  );
}

function delta(deltas: Map<string, CashDelta>, asset: string, total: Decimal, locked: Decimal = ZERO): void {
  const d = deltas.get(asset) ?? { total: ZERO, locked: ZERO };
  deltas.set(asset, { total: d.total.plus(total), locked: d.locked.plus(locked) });
}

interface PositionRow {
  net_quantity: string;
  average_cost: string;
  realized_pnl: string;
  fees: string;
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
  const cash = new Map<string, CashDelta>();
  if (t.side === 'BUY') {
    delta(cash, t.baseAsset, quantity);
    delta(cash, t.quoteAsset, notional.plus(fee).neg(), notional.plus(fee).neg());
  } else {
    delta(cash, t.baseAsset, quantity.neg(), quantity.neg());
    delta(cash, t.quoteAsset, notional.minus(fee));
  }
  await addCash(em, t.accountId, cash, event.timestamp);

  // Position: read (locked), apply, write.
  const [row] = await em.execute<PositionRow[]>(
    'select net_quantity, average_cost, realized_pnl, fees from portfolio_positions where account_id = ? and symbol = ? for update',
    [t.accountId, t.symbol],
  );
  const before: Position = row ? { netQuantity: dec(row.net_quantity), averageCost: dec(row.average_cost) } : FLAT;
  const { position, realized } = applyToPosition(before, { side: t.side, quantity, price, fee });
  const after = {
    ...position,
    realizedPnl: assertStorable(dec(row?.realized_pnl ?? 0).plus(realized), 'realized P&L'),
    fees: assertStorable(dec(row?.fees ?? 0).plus(fee), 'fees'),
  };
  await em.execute(
    `insert into portfolio_positions (account_id, symbol, base_asset, quote_asset, net_quantity, average_cost, realized_pnl, fees, updated_at)
     values (?, ?, ?, ?, ?, ?, ?, ?, ?)
     on conflict (account_id, symbol) do update set
       net_quantity = excluded.net_quantity, average_cost = excluded.average_cost, realized_pnl = excluded.realized_pnl,
       fees = excluded.fees, updated_at = excluded.updated_at`,
    [t.accountId, t.symbol, t.baseAsset, t.quoteAsset, str(after.netQuantity), str(after.averageCost), str(after.realizedPnl), str(after.fees), event.timestamp],
  );

  // Last price: the latest execution wins, whatever order the trades are applied in
  // (trades of different accounts are different aggregates); ties by trade id.
  await em.execute(
    `insert into portfolio_last_prices (symbol, price, at, trade_id) values (?, ?, ?, ?)
     on conflict (symbol) do update set price = excluded.price, at = excluded.at, trade_id = excluded.trade_id
     where (portfolio_last_prices.at, portfolio_last_prices.trade_id) < (excluded.at, excluded.trade_id)`,
    [t.symbol, t.price, t.executedAt, t.tradeId],
  );
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
        const cash = new Map<string, CashDelta>();
        if (type === 'funds.deposited') delta(cash, d.asset, amount);
        else if (type === 'funds.withdrawn') delta(cash, d.asset, amount.neg());
        else if (type === 'funds.locked') delta(cash, d.asset, ZERO, amount);
        else delta(cash, d.asset, ZERO, amount.neg());
        return addCash(em, d.accountId, cash, event.timestamp);
      }
      default:
        throw new Error(`portfolio does not handle ${String(type satisfies never)}`);
    }
  },

  async reset(em) {
    await em.execute('truncate portfolio_cash, portfolio_positions, portfolio_last_prices');
  },
};
