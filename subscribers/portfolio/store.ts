/**
 * The portfolio subscriber's tables (migration 003): every statement on them, for the
 * handler (index.ts) and for what GET /accounts/:id/portfolio answers. Decimals leave
 * as canonical strings; available and unrealized P&L are computed on read (not stored)
 * from the stored totals and the last trade price.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { dec, str, type Decimal } from '../../domain/decimal';
import { unrealizedPnl, type Position } from '../../domain/positions';
import { sql } from '../../persistence/sql';

/** What a change adds to one asset's cash: to everything held, and to the part open orders hold. */
export interface CashChange {
  asset: string;
  total: Decimal;
  locked: Decimal;
}

/**
 * Adds to the account's cash rows in one statement (creating those it lacks): an
 * atomic increment, since the trades and funds of one account are two aggregates that
 * may be applied at once. Rows go in asset order, so concurrent writers lock alike.
 */
export async function addCash(em: EntityManager, accountId: string, changes: CashChange[], at: string): Promise<void> {
  if (changes.length === 0) return;
  const rows = changes.map((c) => ({ asset: c.asset, total: str(c.total), locked: str(c.locked) }));
  await sql(
    em,
    `insert into portfolio_cash (account_id, asset, total, locked, updated_at)
     select :accountId, r.asset, r.total, r.locked, :at::timestamptz
     from jsonb_to_recordset(:rows::jsonb) as r(asset text, total numeric, locked numeric)
     order by r.asset collate "C"
     on conflict (account_id, asset) do update set
       total = portfolio_cash.total + excluded.total,
       locked = portfolio_cash.locked + excluded.locked,
       updated_at = greatest(portfolio_cash.updated_at, excluded.updated_at)`,
    { accountId, at, rows: JSON.stringify(rows) },
  );
}

export interface StoredPosition extends Position {
  realizedPnl: Decimal;
  fees: Decimal;
}

/** The account's position in a symbol, locked until commit (it is read, changed and written back); null when flat and never traded. */
export async function lockHolding(em: EntityManager, accountId: string, symbol: string): Promise<StoredPosition | null> {
  const [row] = await sql<{ net_quantity: string; average_cost: string; realized_pnl: string; fees: string }>(
    em,
    'select net_quantity, average_cost, realized_pnl, fees from portfolio_positions where account_id = :accountId and symbol = :symbol for update',
    { accountId, symbol },
  );
  return row
    ? { netQuantity: dec(row.net_quantity), averageCost: dec(row.average_cost), realizedPnl: dec(row.realized_pnl), fees: dec(row.fees) }
    : null;
}

export async function saveHolding(
  em: EntityManager,
  p: { accountId: string; symbol: string; baseAsset: string; quoteAsset: string; at: string } & StoredPosition,
): Promise<void> {
  await sql(
    em,
    `insert into portfolio_positions (account_id, symbol, base_asset, quote_asset, net_quantity, average_cost, realized_pnl, fees, updated_at)
     values (:accountId, :symbol, :baseAsset, :quoteAsset, :netQuantity, :averageCost, :realizedPnl, :fees, :at)
     on conflict (account_id, symbol) do update set
       net_quantity = excluded.net_quantity, average_cost = excluded.average_cost, realized_pnl = excluded.realized_pnl,
       fees = excluded.fees, updated_at = excluded.updated_at`,
    {
      accountId: p.accountId,
      symbol: p.symbol,
      baseAsset: p.baseAsset,
      quoteAsset: p.quoteAsset,
      netQuantity: str(p.netQuantity),
      averageCost: str(p.averageCost),
      realizedPnl: str(p.realizedPnl),
      fees: str(p.fees),
      at: p.at,
    },
  );
}

/**
 * The symbol's last price: the latest execution wins, whatever order the trades are
 * applied in (trades of different accounts are different aggregates); ties by trade id.
 */
export async function recordLastPrice(em: EntityManager, t: { symbol: string; price: string; executedAt: string; tradeId: string }): Promise<void> {
  await sql(
    em,
    `insert into portfolio_last_prices (symbol, price, at, trade_id) values (:symbol, :price, :executedAt, :tradeId)
     on conflict (symbol) do update set price = excluded.price, at = excluded.at, trade_id = excluded.trade_id
     where (portfolio_last_prices.at, portfolio_last_prices.trade_id) < (excluded.at, excluded.trade_id)`,
    { symbol: t.symbol, price: t.price, executedAt: t.executedAt, tradeId: t.tradeId },
  );
}

/** Empties the projection (a rebuild replays it). */
export async function resetPortfolio(em: EntityManager): Promise<void> {
  await sql(em, 'truncate portfolio_cash, portfolio_positions, portfolio_last_prices');
}

export interface PortfolioView {
  accountId: string;
  cash: { asset: string; total: string; locked: string; available: string }[];
  positions: {
    symbol: string;
    baseAsset: string;
    quoteAsset: string;
    netQuantity: string;
    averageCost: string;
    realizedPnl: string;
    fees: string;
    lastPrice: string | null;
    /** netQuantity x (lastPrice - averageCost); null without a last price. */
    unrealizedPnl: string | null;
  }[];
}

export async function getPortfolio(em: EntityManager, accountId: string): Promise<PortfolioView> {
  const cash = await sql<{ asset: string; total: string; locked: string }>(em, 'select asset, total, locked from portfolio_cash where account_id = :accountId order by asset', {
    accountId,
  });
  const positions = await sql<
    {
      symbol: string;
      base_asset: string;
      quote_asset: string;
      net_quantity: string;
      average_cost: string;
      realized_pnl: string;
      fees: string;
      last_price: string | null;
    }
  >(
    em,
    `select p.symbol, p.base_asset, p.quote_asset, p.net_quantity, p.average_cost, p.realized_pnl, p.fees, lp.price as last_price
     from portfolio_positions p left join portfolio_last_prices lp on lp.symbol = p.symbol
     where p.account_id = :accountId order by p.symbol`,
    { accountId },
  );
  return {
    accountId,
    cash: cash.map((c) => ({ asset: c.asset, total: str(c.total), locked: str(c.locked), available: str(dec(c.total).minus(dec(c.locked))) })),
    positions: positions.map((p) => {
      const netQuantity = dec(p.net_quantity);
      const averageCost = dec(p.average_cost);
      return {
        symbol: p.symbol,
        baseAsset: p.base_asset,
        quoteAsset: p.quote_asset,
        netQuantity: str(netQuantity),
        averageCost: str(averageCost),
        realizedPnl: str(p.realized_pnl),
        fees: str(p.fees),
        lastPrice: p.last_price === null ? null : str(p.last_price),
        unrealizedPnl: p.last_price === null ? null : str(unrealizedPnl({ netQuantity, averageCost }, dec(p.last_price))),
      };
    }),
  };
}
