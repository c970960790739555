/**
 * The schema the migrations build, against real PostgreSQL, in databases of this
 * file's own:
 *  - the core's migrations create no simulated-venue tables; the venue's own
 *    migrations (recorded in venue_migrations) create them;
 *  - on a database the old core migrations built (venue tables included, with resting
 *    orders and undelivered fills in them), the venue's migrations adopt the tables as
 *    they are: no row is lost, and the schema ends up the same as on a fresh database;
 *  - every entity (the core's and the venue's) maps exactly the columns of its table:
 *    names, types and nullability.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { ReferenceKind } from '@mikro-orm/core';
import { connectDatabase, dropDatabase, initOrm, type Orm } from '../../persistence/orm';
import { initSimulatedVenueOrm, migrateSimulatedVenue } from '../../venue/simulated/database';
import { VenueFillRow, VenueOrder } from '../../venue/simulated/entities';

function databaseUrl(suffix: string): string {
  const u = new URL(process.env.DATABASE_URL as string);
  u.pathname = `${u.pathname}_schema_${suffix}`;
  return u.toString();
}

const created: string[] = [];

/** A new database with the core's migrations applied (and nothing else). */
async function coreDatabase(suffix: string): Promise<{ url: string; orm: Orm }> {
  const url = databaseUrl(suffix);
  await dropDatabase(url);
  created.push(url);
  return { url, orm: await connectDatabase(url) };
}

afterAll(async () => {
  for (const url of created) await dropDatabase(url);
});

async function tables(orm: Orm, like: string): Promise<string[]> {
  const rows = await orm.em
    .fork()
    .execute<{ table_name: string }[]>(`select table_name from information_schema.tables where table_schema = 'public' and table_name like ? order by 1`, [like]);
  return rows.map((r) => r.table_name);
}

/** Columns (in order), indexes and constraints of the venue's tables: what must not differ between the two ways of getting them. */
async function venueSchema(orm: Orm): Promise<unknown> {
  const em = orm.em.fork();
  const columns = await em.execute(
    `select table_name, column_name, format_type(a.atttypid, a.atttypmod) as type, is_nullable, column_default, ordinal_position
     from information_schema.columns c
     join pg_attribute a on a.attrelid = c.table_name::regclass and a.attname = c.column_name
     where table_schema = 'public' and table_name like 'venue\\_%' and table_name <> 'venue_migrations' order by table_name, ordinal_position`,
  );
  const indexes = await em.execute(`select tablename, indexname, indexdef from pg_indexes where tablename like 'venue\\_%' and tablename <> 'venue_migrations' order by 1, 2`);
  const constraints = await em.execute(
    `select conrelid::regclass::text as table_name, conname, pg_get_constraintdef(oid) as definition from pg_constraint
     where conrelid::regclass::text like 'venue\\_%' and conrelid::regclass::text <> 'venue_migrations' order by 1, 2`,
  );
  return { columns, indexes, constraints };
}

/** The venue's tables as Migration20261124000001_core and _000002_events created them (and the unreleased _000007, optionally). */
function oldCoreVenueTables(withFillLease: boolean): string {
  return `
    create table venue_ticks (
      symbol text primary key,
      price numeric(38,18) not null check (price > 0),
      liquidity_remaining numeric(38,18) check (liquidity_remaining >= 0),
      seq bigint not null,
      updated_at timestamptz not null default now()
    );
    create table venue_orders (
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
    create index venue_orders_resting on venue_orders (symbol, priority) where status = 'RESTING';
    create table venue_fills (
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
    create index venue_fills_order on venue_fills (order_id, seq);
    create index venue_fills_pending on venue_fills (next_attempt_at) where delivery = 'PENDING';
    alter table venue_fills add column correlation_id text;
    ${withFillLease ? 'alter table venue_orders add column fill_lease_until timestamptz;' : ''}`;
}

const RESTING = '6f1d0c0e-0000-4000-8000-000000000001';
const TRADE = '6f1d0c0e-0000-4000-8000-0000000000f1';

describe('the simulated venue has a schema history of its own', () => {
  let fresh: { url: string; orm: Orm };
  beforeAll(async () => {
    fresh = await coreDatabase('fresh');
  });
  afterAll(async () => {
    await fresh?.orm.close();
  });

  it("a fresh database's core schema has no venue tables; the venue's migrations create them", async () => {
    expect(await tables(fresh.orm, 'venue%')).toEqual([]);
    const core = await fresh.orm.em.fork().execute<{ name: string }[]>('select name from mikro_orm_migrations');
    expect(core.map((m) => m.name).filter((n) => /venue/i.test(n))).toEqual([]);

    expect(await migrateSimulatedVenue(fresh.url)).toEqual(['Migration20261130000001_venue_book', 'Migration20261130000002_venue_rules', 'Migration20261130000003_closed_order_ids']);
    expect(await tables(fresh.orm, 'venue%')).toEqual(['venue_closed_order_ids', 'venue_fills', 'venue_migrations', 'venue_orders', 'venue_rules', 'venue_ticks']);
    expect(await migrateSimulatedVenue(fresh.url)).toEqual([]);
  });

  it.each([
    ['as released (core migrations 001 and 002)', false],
    ['with the unreleased fill lease column (core migration 007)', true],
  ])('on a database the old core migrations built %s, it keeps every row and ends up with the same schema', async (_name, withFillLease) => {
    const old = await coreDatabase(withFillLease ? 'old_lease' : 'old');
    try {
      const em = old.orm.em.fork();
      await em.execute(oldCoreVenueTables(withFillLease));
      await em.execute(`insert into venue_ticks (symbol, price, liquidity_remaining, seq) values ('BTC-USD', 20000, 0.5, 7)`);
      await em.execute(
        `insert into venue_orders (order_id, symbol, side, type, time_in_force, quantity, limit_price, remaining, status, submit_status)
         values (?, 'BTC-USD', 'BUY', 'LIMIT', 'GTC', 1, 20000, 0.75, 'RESTING', 'RESTING')`,
        [RESTING],
      );
      await em.execute(
        `insert into venue_fills (trade_id, order_id, quantity, price, executed_at, at_submission, correlation_id)
         values (?, ?, 0.25, 20000, now(), false, 'tick-1')`,
        [TRADE, RESTING],
      );

      expect(await migrateSimulatedVenue(old.url)).toEqual(['Migration20261130000001_venue_book', 'Migration20261130000002_venue_rules', 'Migration20261130000003_closed_order_ids']);

      expect(await em.execute('select symbol, price::text, liquidity_remaining::text, seq::int from venue_ticks')).toEqual([
        { symbol: 'BTC-USD', price: '20000.000000000000000000', liquidity_remaining: '0.500000000000000000', seq: 7 },
      ]);
      // The adopted rows read through the venue's own entities, the lease column included.
      const venueOrm = await initSimulatedVenueOrm(old.url);
      try {
        const order = await venueOrm.em.fork().findOneOrFail(VenueOrder, { orderId: RESTING });
        expect([order.status, order.remaining, order.fillLeaseUntil]).toEqual(['RESTING', '0.750000000000000000', null]);
        const fill = await venueOrm.em.fork().findOneOrFail(VenueFillRow, { tradeId: TRADE });
        expect([fill.order.orderId, fill.delivery, fill.correlationId]).toEqual([RESTING, 'PENDING', 'tick-1']);
      } finally {
        await venueOrm.close();
      }
      expect(await venueSchema(old.orm)).toEqual(await venueSchema(fresh.orm));
    } finally {
      await old.orm.close();
    }
  });
});

/** What an entity property's column type is called in PostgreSQL (format_type). */
function postgresType(columnType: string): string {
  const aliases: Record<string, string> = { int: 'integer', bigserial: 'bigint', timestamptz: 'timestamp with time zone' };
  return aliases[columnType] ?? columnType;
}

describe('entities map their tables exactly', () => {
  let url: string;
  beforeAll(async () => {
    const db = await coreDatabase('mapping');
    url = db.url;
    await db.orm.close();
    await migrateSimulatedVenue(url);
  });

  it.each([
    ['the core', () => initOrm(url)],
    ['the simulated venue', () => initSimulatedVenueOrm(url)],
  ])("%s: every entity's columns are its table's columns, with their types and nullability", async (_name, open) => {
    const orm = await open();
    try {
      for (const meta of Object.values(orm.getMetadata().getAll())) {
        const mapped = Object.values(meta.properties)
          .filter((p) => p.persist !== false && !p.formula && (p.kind === ReferenceKind.SCALAR || p.kind === ReferenceKind.MANY_TO_ONE))
          .flatMap((p) => p.fieldNames.map((column, i) => ({ column, type: postgresType(p.columnTypes[i]), nullable: Boolean(p.nullable) })))
          .sort((a, b) => a.column.localeCompare(b.column));
        const actual = (
          await orm.em.fork().execute<{ column: string; type: string; nullable: boolean }[]>(
            `select a.attname as column, format_type(a.atttypid, a.atttypmod) as type, not a.attnotnull as nullable
             from pg_attribute a where a.attrelid = ?::regclass and a.attnum > 0 and not a.attisdropped`,
            [meta.tableName],
          )
        ).sort((a, b) => a.column.localeCompare(b.column));
        expect({ table: meta.tableName, columns: mapped }).toEqual({ table: meta.tableName, columns: actual });
      }
    } finally {
      await orm.close();
    }
  });
});
