import { Migration } from '@mikro-orm/migrations';

/**
 * Accounts, assets, instruments, the double-entry ledger with its balance projection,
 * and the orders read model.
 *
 * Edited after it shipped: it used to create the simulated venue's book too
 * (venue_ticks, venue_orders, venue_fills). The venue is a plug-in now, and its tables
 * are created by its own migrations (venue/simulated/migrations), so a fresh database's
 * core schema has no venue tables. This is safe for databases this migration already
 * ran on: MikroORM never runs a recorded migration again, so their venue tables and
 * rows stay as they are, and the venue's first migration only creates what is missing
 * (`if not exists`), adopting them as they are.
 *
 * Money columns are numeric(38,18): exact, 20 integer and 18 fractional digits.
 * The ledger enforces its own rules in the database as a last line of defence:
 * entries are immutable, every transaction balances per asset (checked at commit),
 * and balances can never go negative.
 */
export class Migration20261124000001_core extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table assets (
        code text primary key check (code ~ '^[A-Z0-9]{2,12}$'),
        scale smallint not null check (scale between 0 and 18)
      );
      insert into assets (code, scale) values ('USD', 2), ('BTC', 8), ('ETH', 8);

      create table instruments (
        symbol text primary key,
        base_asset text not null references assets(code),
        quote_asset text not null references assets(code),
        tick_size numeric(38,18) not null check (tick_size > 0),
        lot_size numeric(38,18) not null check (lot_size > 0),
        min_quantity numeric(38,18) not null check (min_quantity > 0),
        fee_rate numeric(38,18) not null default 0 check (fee_rate >= 0 and fee_rate < 1),
        active boolean not null default true
      );
      insert into instruments (symbol, base_asset, quote_asset, tick_size, lot_size, min_quantity, fee_rate) values
        ('BTC-USD', 'BTC', 'USD', 0.01, 0.00001, 0.0001, 0),
        ('ETH-USD', 'ETH', 'USD', 0.01, 0.0001, 0.001, 0);

      create table accounts (
        id uuid primary key,
        name text not null check (length(name) between 1 and 200),
        api_key_hash text not null unique,
        status text not null default 'ACTIVE' check (status in ('ACTIVE', 'SUSPENDED')),
        created_at timestamptz not null default now()
      );

      create table balances (
        account_id uuid not null references accounts(id),
        asset text not null references assets(code),
        available numeric(38,18) not null default 0 check (available >= 0),
        locked numeric(38,18) not null default 0 check (locked >= 0),
        updated_at timestamptz not null default now(),
        primary key (account_id, asset)
      );

      create table ledger_transactions (
        id bigserial primary key,
        idempotency_key text not null unique,
        kind text not null,
        account_id uuid not null references accounts(id),
        order_id uuid,
        reference text not null,
        fingerprint text not null,
        created_at timestamptz not null default now()
      );
      create index ledger_transactions_account on ledger_transactions (account_id, id);

      create table ledger_entries (
        id bigserial primary key,
        transaction_id bigint not null references ledger_transactions(id),
        book text not null check (book in ('customer', 'external', 'venue', 'fees')),
        account_id uuid references accounts(id),
        asset text not null references assets(code),
        bucket text check (bucket in ('available', 'locked')),
        amount numeric(38,18) not null check (amount <> 0),
        kind text not null check (kind in ('DEPOSIT', 'WITHDRAWAL', 'LOCK', 'RELEASE', 'FILL_DEBIT', 'FILL_CREDIT', 'FEE')),
        order_id uuid,
        created_at timestamptz not null default now(),
        check ((book = 'customer') = (account_id is not null and bucket is not null))
      );
      create index ledger_entries_transaction on ledger_entries (transaction_id);
      create index ledger_entries_account on ledger_entries (account_id, asset) where account_id is not null;
      create index ledger_entries_order on ledger_entries (order_id) where order_id is not null;

      create function ledger_entries_immutable() returns trigger language plpgsql as $$
      begin
        raise exception 'ledger entries are immutable (% on entry %)', tg_op, old.id;
      end $$;
      create trigger ledger_entries_no_update before update or delete on ledger_entries
        for each row execute function ledger_entries_immutable();

      create function ledger_transaction_balanced() returns trigger language plpgsql as $$
      declare unbalanced text;
      begin
        select string_agg(asset || '=' || total::text, ', ') into unbalanced from (
          select asset, sum(amount) as total from ledger_entries
          where transaction_id = new.transaction_id group by asset having sum(amount) <> 0
        ) t;
        if unbalanced is not null then
          raise exception 'ledger transaction % does not balance: %', new.transaction_id, unbalanced;
        end if;
        return null;
      end $$;
      create constraint trigger ledger_entries_balanced after insert on ledger_entries
        deferrable initially deferred for each row execute function ledger_transaction_balanced();

      create table orders (
        id uuid primary key,
        client_order_id text not null,
        account_id uuid not null references accounts(id),
        -- no foreign key: an order for an unknown symbol is recorded, then REJECTED
        symbol text not null,
        side text not null check (side in ('BUY', 'SELL')),
        type text not null check (type in ('MARKET', 'LIMIT')),
        quantity numeric(38,18) not null check (quantity > 0),
        limit_price numeric(38,18),
        time_in_force text not null check (time_in_force in ('GTC', 'GTD', 'DAY', 'IOC', 'FOK')),
        expire_at timestamptz,
        status text not null check (status in ('NEW', 'REJECTED', 'ACCEPTED', 'PARTIALLY_FILLED', 'PENDING_CANCEL', 'FILLED', 'CANCELLED', 'EXPIRED')),
        filled_quantity numeric(38,18) not null default 0,
        leaves_quantity numeric(38,18) not null,
        average_fill_price numeric(38,18),
        notional numeric(38,18) not null default 0,
        fees numeric(38,18) not null default 0,
        fee_asset text references assets(code),
        locked_asset text references assets(code),
        locked_amount numeric(38,18) not null default 0 check (locked_amount >= 0),
        reject_reason text,
        cancel_reason text,
        workflow_id text not null,
        version integer not null check (version >= 1),
        created_at timestamptz not null,
        updated_at timestamptz not null,
        unique (account_id, client_order_id),
        check (filled_quantity >= 0 and filled_quantity <= quantity and leaves_quantity >= 0),
        -- FIX: quantity = filled + leaves while the order lives; a terminal order has
        -- leaves 0 (the unfilled rest was cancelled, expired or rejected) and holds nothing.
        check (case when status in ('REJECTED', 'FILLED', 'CANCELLED', 'EXPIRED')
                    then leaves_quantity = 0 and locked_amount = 0
                    else quantity = filled_quantity + leaves_quantity end)
      );
      create index orders_account_created on orders (account_id, created_at desc);
      create index orders_account_status on orders (account_id, status);

      create table order_fills (
        trade_id text primary key,
        order_id uuid not null references orders(id),
        quantity numeric(38,18) not null check (quantity > 0),
        price numeric(38,18) not null check (price > 0),
        fee numeric(38,18) not null default 0,
        fee_asset text not null references assets(code),
        executed_at timestamptz not null,
        order_version integer not null
      );
      create index order_fills_order on order_fills (order_id, order_version);

      create table order_transitions (
        order_id uuid not null references orders(id),
        version integer not null,
        from_status text,
        to_status text not null,
        reason text,
        at timestamptz not null,
        primary key (order_id, version)
      );
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      drop table if exists order_transitions, order_fills, orders,
        ledger_entries, ledger_transactions, balances, accounts, instruments, assets cascade;
      drop function if exists ledger_transaction_balanced, ledger_entries_immutable;
    `);
  }
}
