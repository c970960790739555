import { Migration } from '@mikro-orm/migrations';

/**
 * The report subscriber's tables (subscribers/report). Everything in them is derived
 * from events only, so `npm run rebuild-report` can empty them and replay the streams:
 *
 * - report_order_outcomes: per account and UTC day, how many orders were created and
 *   how many ended filled / cancelled / expired / rejected;
 * - report_symbol_days: per account, UTC day and symbol, filled quantities and
 *   notionals per side, fees and realized P&L (both in the quote asset), trade count;
 * - report_positions: the report's own running position per account and symbol
 *   (average cost method), which realized P&L needs. It is not the ledger's balance:
 *   only trades move it, so base asset that was deposited and then sold shows as a short.
 *
 * No timestamps of processing: a rebuild must reproduce the rows exactly.
 */
export class Migration20261124000005_reports extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table report_order_outcomes (
        account_id uuid not null,
        day date not null,
        outcome text not null check (outcome in ('created', 'filled', 'cancelled', 'expired', 'rejected')),
        count integer not null check (count > 0),
        primary key (account_id, day, outcome)
      );

      create table report_symbol_days (
        account_id uuid not null,
        day date not null,
        symbol text not null,
        quote_asset text not null,
        buy_quantity numeric(38,18) not null default 0 check (buy_quantity >= 0),
        sell_quantity numeric(38,18) not null default 0 check (sell_quantity >= 0),
        buy_notional numeric(38,18) not null default 0 check (buy_notional >= 0),
        sell_notional numeric(38,18) not null default 0 check (sell_notional >= 0),
        fees numeric(38,18) not null default 0 check (fees >= 0),
        realized_pnl numeric(38,18) not null default 0,
        trades integer not null check (trades > 0),
        primary key (account_id, day, symbol)
      );

      create table report_positions (
        account_id uuid not null,
        symbol text not null,
        net_quantity numeric(38,18) not null,
        average_cost numeric(38,18) not null check (average_cost >= 0),
        primary key (account_id, symbol),
        -- Flat means no cost basis left over.
        check (net_quantity <> 0 or average_cost = 0)
      );
    `);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists report_positions, report_symbol_days, report_order_outcomes;');
  }
}
