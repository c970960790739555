import { Migration } from '@mikro-orm/migrations';

/**
 * The portfolio subscriber's projection (subscribers/portfolio): cash per account and
 * asset, positions per account and symbol, and the last trade price per symbol.
 *
 * Derived from events only, so no foreign keys to the order service's tables: the
 * projection can be truncated and rebuilt on its own. No `>= 0` checks on cash either:
 * trades and funds movements of one account are two aggregates, ordered each on its
 * own, so a trade may be applied before the funds.locked it consumes (locked is briefly
 * negative) and the projection converges when both streams have been applied.
 */
export class Migration20261124000003_portfolio extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table portfolio_cash (
        account_id uuid not null,
        asset text not null,
        -- everything the account holds of the asset; available = total - locked (on read)
        total numeric(38,18) not null default 0,
        -- held by open orders
        locked numeric(38,18) not null default 0,
        updated_at timestamptz not null,
        primary key (account_id, asset)
      );

      create table portfolio_positions (
        account_id uuid not null,
        symbol text not null,
        base_asset text not null,
        quote_asset text not null,
        -- signed: > 0 long, < 0 short
        net_quantity numeric(38,18) not null,
        -- per unit of base, in the quote asset; 0 exactly when the position is flat
        average_cost numeric(38,18) not null check (average_cost >= 0),
        realized_pnl numeric(38,18) not null,
        -- every fee paid on the symbol's trades (quote asset)
        fees numeric(38,18) not null check (fees >= 0),
        updated_at timestamptz not null,
        primary key (account_id, symbol),
        check (net_quantity <> 0 or average_cost = 0)
      );

      create table portfolio_last_prices (
        symbol text primary key,
        price numeric(38,18) not null check (price > 0),
        at timestamptz not null,
        -- tie-break between trades at the same instant, so the winner does not depend on processing order
        trade_id text not null
      );
    `);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists portfolio_last_prices, portfolio_positions, portfolio_cash;');
  }
}
