/**
 * Reading the portfolio projection: what GET /accounts/:id/portfolio answers.
 * Decimals leave as canonical strings; available and unrealized P&L are computed here
 * (not stored) from the stored totals and the last trade price.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { dec, str } from '../../domain/decimal';
import { unrealizedPnl } from '../../domain/positions';

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
  const cash = await em.execute<{ asset: string; total: string; locked: string }[]>(
    'select asset, total, locked from portfolio_cash where account_id = ? order by asset',
    [accountId],
  );
  const positions = await em.execute<
    {
      symbol: string;
      base_asset: string;
      quote_asset: string;
      net_quantity: string;
      average_cost: string;
      realized_pnl: string;
      fees: string;
      last_price: string | null;
    }[]
  >(
    `select p.symbol, p.base_asset, p.quote_asset, p.net_quantity, p.average_cost, p.realized_pnl, p.fees, lp.price as last_price
     from portfolio_positions p left join portfolio_last_prices lp on lp.symbol = p.symbol
     where p.account_id = ? order by p.symbol`,
    [accountId],
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
