import { Migration } from '@mikro-orm/migrations';

/**
 * Positions from every movement, one ordered source per account (issue 15).
 *
 * The portfolio now reads one stream, the account's funds events (deposits and
 * withdrawals carry the instrument of a base asset and its cost basis; each fill's
 * `funds.settled` carries the trade and every balance movement of its ledger
 * transaction), so:
 * - a position records where its average cost comes from (`cost_source`);
 * - `portfolio_accounts` holds what each account's answer reflects (`asOf`): the last
 *   funds event applied, by its sequence;
 * - `portfolio_last_prices` goes: positions are marked on read to the venue's market
 *   price, with its time, not to the last trade the portfolio saw.
 * The report counts deposited and withdrawn base quantities per symbol and day.
 */
export class Migration20261130000007_positions_from_every_movement extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table portfolio_positions
        add column cost_source text not null default 'trades' check (cost_source in ('trades', 'market', 'none'));

      create table portfolio_accounts (
        account_id uuid primary key,
        -- the sequence of the last funds event of the account applied: the answer is the ledger after it
        funds_sequence integer not null check (funds_sequence > 0),
        event_id uuid not null,
        -- that event's time (the commit of its ledger transaction)
        at timestamptz not null
      );

      drop table portfolio_last_prices;

      alter table report_symbol_days
        add column deposit_quantity numeric(38,18) not null default 0 check (deposit_quantity >= 0),
        add column withdrawal_quantity numeric(38,18) not null default 0 check (withdrawal_quantity >= 0),
        -- a day may hold deposits or withdrawals and no trade
        drop constraint report_symbol_days_trades_check,
        add constraint report_symbol_days_trades_check check (trades >= 0);
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      delete from report_symbol_days where trades = 0;
      alter table report_symbol_days drop column deposit_quantity, drop column withdrawal_quantity,
        drop constraint report_symbol_days_trades_check, add constraint report_symbol_days_trades_check check (trades > 0);
      create table portfolio_last_prices (
        symbol text primary key,
        price numeric(38,18) not null check (price > 0),
        at timestamptz not null,
        trade_id text not null
      );
      drop table portfolio_accounts;
      alter table portfolio_positions drop column cost_source;
    `);
  }
}
