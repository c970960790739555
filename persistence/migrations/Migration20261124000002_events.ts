import { Migration } from '@mikro-orm/migrations';

/**
 * Event plumbing: the transactional outbox, gapless per-aggregate sequences, and
 * what every subscriber needs to be idempotent and ordered (processed events,
 * positions per aggregate, failure counts before dead-lettering).
 *
 * Edited after it shipped: it used to add venue_fills.correlation_id as well. That
 * column belongs to the simulated venue, whose own first migration now adds it
 * (`add column if not exists`), since the core creates no venue tables any more. Safe
 * for databases this migration already ran on: it is never run again there, the
 * column and its values stay, and the venue's migration finds it and leaves it.
 */
export class Migration20261124000002_events extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table event_sequences (
        aggregate_type text not null,
        aggregate_id text not null,
        last_sequence integer not null,
        primary key (aggregate_type, aggregate_id)
      );

      create table outbox (
        id bigserial primary key,
        event_id uuid not null unique,
        event_type text not null,
        subject text not null,
        aggregate_type text not null,
        aggregate_id text not null,
        sequence integer not null,
        envelope jsonb not null,
        created_at timestamptz not null default now(),
        published_at timestamptz,
        publish_attempts integer not null default 0,
        last_error text,
        unique (aggregate_type, aggregate_id, sequence)
      );
      create index outbox_unpublished on outbox (id) where published_at is null;
      create index outbox_unpublished_aggregate on outbox (aggregate_type, aggregate_id, id) where published_at is null;

      create table processed_events (
        subscriber text not null,
        event_id uuid not null,
        event_type text not null,
        processed_at timestamptz not null default now(),
        primary key (subscriber, event_id)
      );

      create table subscriber_positions (
        subscriber text not null,
        aggregate_type text not null,
        aggregate_id text not null,
        last_sequence integer not null,
        updated_at timestamptz not null default now(),
        primary key (subscriber, aggregate_type, aggregate_id)
      );

      create table subscriber_failures (
        subscriber text not null,
        event_id uuid not null,
        attempts integer not null,
        last_error text not null,
        updated_at timestamptz not null default now(),
        primary key (subscriber, event_id)
      );
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      drop table if exists subscriber_failures, subscriber_positions, processed_events, outbox, event_sequences;
    `);
  }
}
