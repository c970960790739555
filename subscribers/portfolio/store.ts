/**
 * The portfolio subscriber's tables (migrations 003, 007): every statement on them,
 * for the handler (index.ts) and for what GET /accounts/:id/portfolio answers.
 * Decimals leave as canonical strings; available, unrealized P&L and equity are
 * computed on read (not stored), the last two from the venue's market price.
 */
import { IsolationLevel } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { dec, str, sum, ZERO, type Decimal } from '../../domain/decimal';
import { unrealizedPnl, type CostSource, type Position } from '../../domain/positions';
import type { MarketPrices } from '../../domain/venue';
import { sql } from '../../persistence/sql';

/** What a change adds to one asset's cash: to everything held, and to the part open orders hold. */
export interface CashChange {
  asset: string;
  total: Decimal;
  locked: Decimal;
}

/**
 * Adds to the account's cash rows in one statement (creating those it lacks): an
 * atomic increment. Rows go in asset order, so concurrent writers lock alike.
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

/** What the account's answer reflects: the last funds event applied (its sequence, id and time). */
export async function recordAsOf(em: EntityManager, accountId: string, event: { sequence: number; eventId: string; timestamp: string }): Promise<void> {
  await sql(
    em,
    `insert into portfolio_accounts (account_id, funds_sequence, event_id, at) values (:accountId, :sequence, :eventId, :at)
     on conflict (account_id) do update set funds_sequence = excluded.funds_sequence, event_id = excluded.event_id, at = excluded.at
     where portfolio_accounts.funds_sequence < excluded.funds_sequence`,
    { accountId, sequence: event.sequence, eventId: event.eventId, at: event.timestamp },
  );
}

export interface StoredPosition extends Position {
  realizedPnl: Decimal;
  fees: Decimal;
  costSource: CostSource;
}

/** The account's position in a symbol, locked until commit (it is read, changed and written back); null when flat and never traded. */
export async function lockHolding(em: EntityManager, accountId: string, symbol: string): Promise<StoredPosition | null> {
  const [row] = await sql<{ net_quantity: string; average_cost: string; realized_pnl: string; fees: string; cost_source: CostSource }>(
    em,
    'select net_quantity, average_cost, realized_pnl, fees, cost_source from portfolio_positions where account_id = :accountId and symbol = :symbol for update',
    { accountId, symbol },
  );
  return row
    ? {
        netQuantity: dec(row.net_quantity),
        averageCost: dec(row.average_cost),
        realizedPnl: dec(row.realized_pnl),
        fees: dec(row.fees),
        costSource: row.cost_source,
      }
    : null;
}

export async function saveHolding(
  em: EntityManager,
  p: { accountId: string; symbol: string; baseAsset: string; quoteAsset: string; at: string } & StoredPosition,
): Promise<void> {
  await sql(
    em,
    `insert into portfolio_positions (account_id, symbol, base_asset, quote_asset, net_quantity, average_cost, realized_pnl, fees, cost_source, updated_at)
     values (:accountId, :symbol, :baseAsset, :quoteAsset, :netQuantity, :averageCost, :realizedPnl, :fees, :costSource, :at)
     on conflict (account_id, symbol) do update set
       net_quantity = excluded.net_quantity, average_cost = excluded.average_cost, realized_pnl = excluded.realized_pnl,
       fees = excluded.fees, cost_source = excluded.cost_source, updated_at = excluded.updated_at`,
    {
      accountId: p.accountId,
      symbol: p.symbol,
      baseAsset: p.baseAsset,
      quoteAsset: p.quoteAsset,
      netQuantity: str(p.netQuantity),
      averageCost: str(p.averageCost),
      realizedPnl: str(p.realizedPnl),
      fees: str(p.fees),
      costSource: p.costSource,
      at: p.at,
    },
  );
}

/** Empties the projection (a rebuild replays it). */
export async function resetPortfolio(em: EntityManager): Promise<void> {
  await sql(em, 'truncate portfolio_cash, portfolio_positions, portfolio_accounts');
}

/** The projection's rows, numerics as text (exact), for a snapshot (subscribers/framework.ts). */
export interface PortfolioSnapshotState {
  cash: unknown[];
  positions: unknown[];
  accounts: unknown[];
}

export async function snapshotPortfolio(em: EntityManager): Promise<PortfolioSnapshotState> {
  const [row] = await sql<{ state: PortfolioSnapshotState }>(
    em,
    `select json_build_object(
       'cash', coalesce((select json_agg(c) from (
          select account_id, asset, total::text as total, locked::text as locked, updated_at from portfolio_cash) c), '[]'),
       'positions', coalesce((select json_agg(p) from (
          select account_id, symbol, base_asset, quote_asset, net_quantity::text as net_quantity, average_cost::text as average_cost,
                 realized_pnl::text as realized_pnl, fees::text as fees, cost_source, updated_at from portfolio_positions) p), '[]'),
       'accounts', coalesce((select json_agg(a) from portfolio_accounts a), '[]')) as state`,
  );
  return row.state;
}

/** Puts a snapshot's rows back into the emptied projection. */
export async function restorePortfolio(em: EntityManager, state: PortfolioSnapshotState): Promise<void> {
  await sql(em, 'insert into portfolio_cash select * from json_populate_recordset(null::portfolio_cash, :rows::json)', { rows: JSON.stringify(state.cash) });
  await sql(em, 'insert into portfolio_positions select * from json_populate_recordset(null::portfolio_positions, :rows::json)', { rows: JSON.stringify(state.positions) });
  await sql(em, 'insert into portfolio_accounts select * from json_populate_recordset(null::portfolio_accounts, :rows::json)', { rows: JSON.stringify(state.accounts) });
}

export interface PortfolioPositionView {
  symbol: string;
  baseAsset: string;
  quoteAsset: string;
  netQuantity: string;
  averageCost: string;
  /** trades: every unit's cost is known; market: some were valued at the market price when deposited; none: at 0. */
  costSource: CostSource;
  realizedPnl: string;
  fees: string;
  /** The venue's last market price and its time; null before the symbol's first. */
  marketPrice: string | null;
  marketPriceAt: string | null;
  /** netQuantity x (marketPrice - averageCost); null without a market price. */
  unrealizedPnl: string | null;
}

export interface PortfolioView {
  accountId: string;
  /** What the answer reflects: the ledger after the account's funds event `sequence` (committed at `at`); null before any. */
  asOf: { sequence: number; eventId: string; at: string } | null;
  cash: { asset: string; total: string; locked: string; available: string }[];
  positions: PortfolioPositionView[];
  /**
   * Per quote asset: its cash plus every position quoted in it at its market price.
   * Null for a quote asset with a position that has no market price yet.
   */
  equity: Record<string, string | null>;
}

interface PositionRow {
  symbol: string;
  base_asset: string;
  quote_asset: string;
  net_quantity: string;
  average_cost: string;
  cost_source: CostSource;
  realized_pnl: string;
  fees: string;
}

/**
 * One account's portfolio. Cash, positions and asOf are read in one REPEATABLE READ
 * transaction: one snapshot, so the answer is one state of the projection (the
 * ledger after asOf), never rows from two moments. Marks come from `prices`.
 */
export async function getPortfolio(em: EntityManager, accountId: string, prices: MarketPrices | null): Promise<PortfolioView> {
  const { asOf, cash, rows } = await em.transactional(
    async (tx) => {
      const [at] = await sql<{ funds_sequence: number; event_id: string; at: Date | string }>(
        tx,
        'select funds_sequence, event_id, at from portfolio_accounts where account_id = :accountId',
        { accountId },
      );
      const c = await sql<{ asset: string; total: string; locked: string }>(tx, 'select asset, total, locked from portfolio_cash where account_id = :accountId order by asset', {
        accountId,
      });
      const r = await sql<PositionRow>(
        tx,
        `select symbol, base_asset, quote_asset, net_quantity, average_cost, cost_source, realized_pnl, fees
         from portfolio_positions where account_id = :accountId order by symbol`,
        { accountId },
      );
      return { asOf: at ? { sequence: Number(at.funds_sequence), eventId: at.event_id, at: new Date(at.at).toISOString() } : null, cash: c, rows: r };
    },
    { isolationLevel: IsolationLevel.REPEATABLE_READ, readOnly: true },
  );

  const positions: PortfolioPositionView[] = [];
  for (const p of rows) {
    const netQuantity = dec(p.net_quantity);
    const averageCost = dec(p.average_cost);
    const quote = prices ? await prices.marketPrice(p.symbol) : null;
    positions.push({
      symbol: p.symbol,
      baseAsset: p.base_asset,
      quoteAsset: p.quote_asset,
      netQuantity: str(netQuantity),
      averageCost: str(averageCost),
      costSource: p.cost_source,
      realizedPnl: str(p.realized_pnl),
      fees: str(p.fees),
      marketPrice: quote ? str(quote.price) : null,
      marketPriceAt: quote ? quote.at : null,
      unrealizedPnl: quote ? str(unrealizedPnl({ netQuantity, averageCost }, dec(quote.price))) : null,
    });
  }
  return {
    accountId,
    asOf,
    cash: cash.map((c) => ({ asset: c.asset, total: str(c.total), locked: str(c.locked), available: str(dec(c.total).minus(dec(c.locked))) })),
    positions,
    equity: equityOf(cash, positions),
  };
}

/** Per quote asset: its cash total plus its positions at market (null when one has no market price). */
function equityOf(cash: { asset: string; total: string }[], positions: PortfolioPositionView[]): Record<string, string | null> {
  const held = positions.filter((p) => !dec(p.netQuantity).isZero());
  const quotes = [...new Set(positions.map((p) => p.quoteAsset))].sort();
  return Object.fromEntries(
    quotes.map((q) => {
      const mine = held.filter((p) => p.quoteAsset === q);
      if (mine.some((p) => p.marketPrice === null)) return [q, null];
      const cashTotal = dec(cash.find((c) => c.asset === q)?.total ?? ZERO);
      return [q, str(cashTotal.plus(sum(mine.map((p) => dec(p.netQuantity).times(dec(p.marketPrice as string))))))];
    }),
  );
}
