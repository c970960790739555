/**
 * Reads one account's daily report from the report subscriber's tables (for
 * GET /reports/accounts/:id?date=YYYY-MM-DD). A day with nothing in it reads as zeros.
 *
 * Totals are per quote asset (`totals.fees.USD`), since fees and P&L of instruments
 * quoted in different assets cannot be added up: every instrument quotes USD today,
 * so there is one key, and none on a day without trades.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { dec, str, ZERO, type Decimal } from '../../domain/decimal';
import { OUTCOMES, type OrderOutcome } from './index';

export interface SymbolDay {
  symbol: string;
  quoteAsset: string;
  buyQuantity: string;
  sellQuantity: string;
  buyNotional: string;
  sellNotional: string;
  fees: string;
  realizedPnl: string;
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
  trades: number;
}

/** `date` is a valid YYYY-MM-DD (validated at the API boundary). */
export async function dailyReport(em: EntityManager, accountId: string, date: string): Promise<DailyReport> {
  const outcomeRows = await em.execute<{ outcome: OrderOutcome; count: number }[]>(
    'select outcome, count from report_order_outcomes where account_id = ? and day = ?::date',
    [accountId, date],
  );
  const orders = Object.fromEntries(OUTCOMES.map((o) => [o, 0])) as Record<OrderOutcome, number>;
  for (const r of outcomeRows) orders[r.outcome] = Number(r.count);

  const rows = await em.execute<SymbolDayRow[]>(
    `select symbol, quote_asset, buy_quantity, sell_quantity, buy_notional, sell_notional, fees, realized_pnl, trades
     from report_symbol_days where account_id = ? and day = ?::date order by symbol`,
    [accountId, date],
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
