/**
 * The report subscriber's tables (migration 005): every statement on them, for the
 * handler (index.ts) and for one account's daily report (GET
 * /reports/accounts/:id?date=YYYY-MM-DD). A day with nothing in it reads as zeros.
 *
 * Totals are per quote asset (`totals.fees.USD`), since fees and P&L of instruments
 * quoted in different assets cannot be added up: every instrument quotes USD today,
 * so there is one key, and none on a day without trades.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { dec, str, ZERO, type Decimal } from '../../domain/decimal';
import { FLAT, type Position } from '../../domain/positions';
import { sql } from '../../persistence/sql';

export const OUTCOMES = ['created', 'filled', 'cancelled', 'expired', 'rejected'] as const;
export type OrderOutcome = (typeof OUTCOMES)[number];

/** Counts one order outcome on its account's day. */
export async function countOutcome(em: EntityManager, o: { accountId: string; day: string; outcome: OrderOutcome }): Promise<void> {
  await sql(
    em,
    `insert into report_order_outcomes (account_id, day, outcome, count) values (:accountId, :day, :outcome, 1)
     on conflict (account_id, day, outcome) do update set count = report_order_outcomes.count + 1`,
    { accountId: o.accountId, day: o.day, outcome: o.outcome },
  );
}

/** The report's own running position of an account in a symbol (FLAT before its first trade). */
export async function findReportPosition(em: EntityManager, accountId: string, symbol: string): Promise<Position> {
  const [row] = await sql<{ net_quantity: string; average_cost: string }>(
    em,
    'select net_quantity, average_cost from report_positions where account_id = :accountId and symbol = :symbol',
    { accountId, symbol },
  );
  return row ? { netQuantity: dec(row.net_quantity), averageCost: dec(row.average_cost) } : FLAT;
}

export async function saveReportPosition(em: EntityManager, accountId: string, symbol: string, position: Position): Promise<void> {
  await sql(
    em,
    `insert into report_positions (account_id, symbol, net_quantity, average_cost) values (:accountId, :symbol, :netQuantity, :averageCost)
     on conflict (account_id, symbol) do update set net_quantity = excluded.net_quantity, average_cost = excluded.average_cost`,
    { accountId, symbol, netQuantity: str(position.netQuantity), averageCost: str(position.averageCost) },
  );
}

/** What one trade adds to its account's day in its symbol (all amounts in the quote asset but quantities). */
export interface SymbolDayChange {
  accountId: string;
  day: string;
  symbol: string;
  quoteAsset: string;
  buyQuantity: Decimal;
  sellQuantity: Decimal;
  buyNotional: Decimal;
  sellNotional: Decimal;
  fees: Decimal;
  realizedPnl: Decimal;
  depositQuantity: Decimal;
  withdrawalQuantity: Decimal;
}

/** Adds one trade, deposit or withdrawal to its account's day in its symbol. */
export async function addToSymbolDay(em: EntityManager, c: SymbolDayChange): Promise<void> {
  await sql(
    em,
    `insert into report_symbol_days (account_id, day, symbol, quote_asset, buy_quantity, sell_quantity, buy_notional, sell_notional, fees, realized_pnl,
       deposit_quantity, withdrawal_quantity, trades)
     values (:accountId, :day, :symbol, :quoteAsset, :buyQuantity, :sellQuantity, :buyNotional, :sellNotional, :fees, :realizedPnl,
       :depositQuantity, :withdrawalQuantity, :trades)
     on conflict (account_id, day, symbol) do update set
       buy_quantity = report_symbol_days.buy_quantity + excluded.buy_quantity,
       sell_quantity = report_symbol_days.sell_quantity + excluded.sell_quantity,
       buy_notional = report_symbol_days.buy_notional + excluded.buy_notional,
       sell_notional = report_symbol_days.sell_notional + excluded.sell_notional,
       fees = report_symbol_days.fees + excluded.fees,
       realized_pnl = report_symbol_days.realized_pnl + excluded.realized_pnl,
       deposit_quantity = report_symbol_days.deposit_quantity + excluded.deposit_quantity,
       withdrawal_quantity = report_symbol_days.withdrawal_quantity + excluded.withdrawal_quantity,
       trades = report_symbol_days.trades + excluded.trades`,
    {
      accountId: c.accountId,
      day: c.day,
      symbol: c.symbol,
      quoteAsset: c.quoteAsset,
      buyQuantity: str(c.buyQuantity),
      sellQuantity: str(c.sellQuantity),
      buyNotional: str(c.buyNotional),
      sellNotional: str(c.sellNotional),
      fees: str(c.fees),
      realizedPnl: str(c.realizedPnl),
      depositQuantity: str(c.depositQuantity),
      withdrawalQuantity: str(c.withdrawalQuantity),
      // A deposit or withdrawal is no trade.
      trades: c.buyQuantity.isZero() && c.sellQuantity.isZero() ? 0 : 1,
    },
  );
}

/** The report's rows, numerics as text (exact), for a snapshot (subscribers/framework.ts). */
export interface ReportSnapshotState {
  outcomes: unknown[];
  symbolDays: unknown[];
  positions: unknown[];
}

export async function snapshotReport(em: EntityManager): Promise<ReportSnapshotState> {
  const [row] = await sql<{ state: ReportSnapshotState }>(
    em,
    `select json_build_object(
       'outcomes', coalesce((select json_agg(o) from report_order_outcomes o), '[]'),
       'symbolDays', coalesce((select json_agg(d) from (
          select account_id, day, symbol, quote_asset, buy_quantity::text as buy_quantity, sell_quantity::text as sell_quantity,
                 buy_notional::text as buy_notional, sell_notional::text as sell_notional, fees::text as fees,
                 realized_pnl::text as realized_pnl, trades, deposit_quantity::text as deposit_quantity,
                 withdrawal_quantity::text as withdrawal_quantity from report_symbol_days) d), '[]'),
       'positions', coalesce((select json_agg(p) from (
          select account_id, symbol, net_quantity::text as net_quantity, average_cost::text as average_cost from report_positions) p), '[]')) as state`,
  );
  return row.state;
}

/** Puts a snapshot's rows back into the emptied report. */
export async function restoreReport(em: EntityManager, state: ReportSnapshotState): Promise<void> {
  for (const [table, rows] of [
    ['report_order_outcomes', state.outcomes],
    ['report_symbol_days', state.symbolDays],
    ['report_positions', state.positions],
  ] as const) {
    await sql(em, `insert into ${table} select * from json_populate_recordset(null::${table}, :rows::json)`, { rows: JSON.stringify(rows) });
  }
}

/** Empties the report (a rebuild replays it). */
export async function resetReport(em: EntityManager): Promise<void> {
  await sql(em, 'truncate report_order_outcomes, report_symbol_days, report_positions');
}

export interface SymbolDay {
  symbol: string;
  quoteAsset: string;
  buyQuantity: string;
  sellQuantity: string;
  buyNotional: string;
  sellNotional: string;
  fees: string;
  realizedPnl: string;
  /** Base asset deposited and withdrawn (not traded) that day. */
  depositQuantity: string;
  withdrawalQuantity: string;
  trades: number;
}

export interface DailyReport {
  accountId: string;
  date: string;
  orders: Record<OrderOutcome, number>;
  symbols: SymbolDay[];
  /** Per quote asset: { fees: { USD: "1.5" }, realizedPnl: { USD: "-3" } }. */
  totals: { fees: Record<string, string>; realizedPnl: Record<string, string> };
}

interface SymbolDayRow {
  symbol: string;
  quote_asset: string;
  buy_quantity: string;
  sell_quantity: string;
  buy_notional: string;
  sell_notional: string;
  fees: string;
  realized_pnl: string;
  deposit_quantity: string;
  withdrawal_quantity: string;
  trades: number;
}

/** `date` is a valid YYYY-MM-DD (validated at the API boundary). */
export async function dailyReport(em: EntityManager, accountId: string, date: string): Promise<DailyReport> {
  const outcomeRows = await sql<{ outcome: OrderOutcome; count: number }>(
    em,
    'select outcome, count from report_order_outcomes where account_id = :accountId and day = :day::date',
    { accountId, day: date },
  );
  const orders = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<OrderOutcome, number>;
  for (const r of outcomeRows) orders[r.outcome] = Number(r.count);

  const rows = await sql<SymbolDayRow>(
    em,
    `select symbol, quote_asset, buy_quantity, sell_quantity, buy_notional, sell_notional, fees, realized_pnl, deposit_quantity, withdrawal_quantity, trades
     from report_symbol_days where account_id = :accountId and day = :day::date order by symbol`,
    { accountId, day: date },
  );
  const symbols: SymbolDay[] = rows.map((r) => ({
    symbol: r.symbol,
    quoteAsset: r.quote_asset,
    buyQuantity: str(r.buy_quantity),
    sellQuantity: str(r.sell_quantity),
    buyNotional: str(r.buy_notional),
    sellNotional: str(r.sell_notional),
    fees: str(r.fees),
    realizedPnl: str(r.realized_pnl),
    depositQuantity: str(r.deposit_quantity),
    withdrawalQuantity: str(r.withdrawal_quantity),
    trades: Number(r.trades),
  }));

  const fees = new Map<string, Decimal>();
  const pnl = new Map<string, Decimal>();
  for (const s of symbols) {
    fees.set(s.quoteAsset, (fees.get(s.quoteAsset) ?? ZERO).plus(dec(s.fees)));
    pnl.set(s.quoteAsset, (pnl.get(s.quoteAsset) ?? ZERO).plus(dec(s.realizedPnl)));
  }
  const byAsset = (m: Map<string, Decimal>) => Object.fromEntries([...m.keys()].sort().map((a) => [a, str(m.get(a) as Decimal)]));
  return { accountId, date, orders, symbols, totals: { fees: byAsset(fees), realizedPnl: byAsset(pnl) } };
}
