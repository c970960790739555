import { Migration } from '@mikro-orm/migrations';

/**
 * The simulated venue's book: the last tick per symbol, the orders it was sent, and
 * its fills with their delivery state.
 *
 * These tables were first created by the core's migrations (001 created them, 002
 * added venue_fills.correlation_id, and an unreleased 007 added
 * venue_orders.fill_lease_until), before the venue became a plug-in with its own
 * schema history. So this migration must be right on both kinds of database: on a
 * fresh one it creates everything; on one the old core migrations built, where the
 * tables exist and hold resting orders and undelivered fills, every statement is a
 * no-op except adding what is missing. Hence `if not exists` throughout, and the later
 * columns added by `alter table` rather than in `create table`, so both kinds of
 * database end up with the same columns in the same order.
 */
export class Migration20261130000001_venue_book extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table if not exists venue_ticks (
        symbol text primary key,
        price numeric(38,18) not null check (price > 0),
        liquidity_remaining numeric(38,18) check (liquidity_remaining >= 0),
        seq bigint not null,
        updated_at timestamptz not null default now()
      );

      create table if not exists venue_orders (
        order_id uuid primary key,
        priority bigserial not null unique,
        symbol text not null,
        side text not null,
        type text not null,
        time_in_force text not null,
        quantity numeric(38,18) not null,
        limit_price numeric(38,18),
        protection_price numeric(38,18),
        remaining numeric(38,18) not null check (remaining >= 0),
        status text not null check (status in ('RESTING', 'FILLED', 'CANCELLED', 'REJECTED')),
        submit_status text not null check (submit_status in ('RESTING', 'FILLED', 'CANCELLED', 'REJECTED')),
        reject_reason text,
        submitted_at timestamptz not null default now(),
        closed_at timestamptz
      );
      create index if not exists venue_orders_resting on venue_orders (symbol, priority) where status = 'RESTING';

      create table if not exists venue_fills (
        trade_id uuid primary key,
        seq bigserial not null unique,
        order_id uuid not null references venue_orders(order_id),
        quantity numeric(38,18) not null check (quantity > 0),
        price numeric(38,18) not null check (price > 0),
        executed_at timestamptz not null,
        at_submission boolean not null,
        delivery text not null default 'PENDING' check (delivery in ('PENDING', 'DELIVERED', 'REFUSED')),
        delivery_attempts integer not null default 0,
        last_error text,
        next_attempt_at timestamptz not null default now(),
        delivered_at timestamptz
      );
      create index if not exists venue_fills_order on venue_fills (order_id, seq);
      create index if not exists venue_fills_pending on venue_fills (next_attempt_at) where delivery = 'PENDING';

      -- Which request (tick) made a fill, for the events' correlation id.
      alter table venue_fills add column if not exists correlation_id text;

      -- The fill dispatcher leases a whole venue order (not single fills): only the lease
      -- holder delivers that order's fills, one after another in trade order, so two
      -- dispatchers, or a retry after a failed delivery, can never let a later fill of an
      -- order overtake an earlier one.
      alter table venue_orders add column if not exists fill_lease_until timestamptz;
    `);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists venue_fills, venue_orders, venue_ticks;');
  }
}
