import { Migration } from '@mikro-orm/migrations';

/**
 * Events a subscriber holds back until their turn (an earlier event of the aggregate
 * has not been applied yet), kept here instead of unacknowledged on JetStream: held
 * there they counted against the consumer's ack-pending budget, and enough of them
 * stopped the consumer for every other aggregate.
 */
export class Migration20261129213500_subscriber_held_events extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table subscriber_held_events (
        subscriber text not null,
        event_id uuid not null,
        aggregate_type text not null,
        aggregate_id text not null,
        sequence integer not null,
        event jsonb not null,
        held_at timestamptz not null default now(),
        primary key (subscriber, event_id)
      );
      create index subscriber_held_events_turn on subscriber_held_events (subscriber, aggregate_type, aggregate_id, sequence);
    `);
  }

  override async down(): Promise<void> {
    this.addSql('drop table subscriber_held_events;');
  }
}
