import { Migration } from '@mikro-orm/migrations';

/**
 * Retention (issue 15): projection snapshots, so a rebuild starts from the latest one
 * rather than from a first event the streams may have dropped; and indexes for the
 * scheduled job that deletes old published outbox rows, processed-event records and
 * delivered notifications.
 */
export class Migration20261130000008_retention extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table projection_snapshots (
        id bigserial primary key,
        subscriber text not null,
        taken_at timestamptz not null default now(),
        -- per subscribed stream: every message up to this stream sequence is in the snapshot
        stream_sequences jsonb not null,
        -- the subscriber's position in each aggregate, as of the snapshot
        positions jsonb not null,
        -- the projection's rows, as its definition wrote them (subscribers/<name>/store.ts)
        state jsonb not null
      );
      create index projection_snapshots_latest on projection_snapshots (subscriber, id desc);

      create index outbox_published_at on outbox (published_at) where published_at is not null;
      create index processed_events_processed_at on processed_events (processed_at);
      create index notifications_delivered_at on notifications (delivered_at) where status = 'DELIVERED';
    `);
  }

  override async down(): Promise<void> {
    this.addSql(`
      drop index if exists notifications_delivered_at;
      drop index if exists processed_events_processed_at;
      drop index if exists outbox_published_at;
      drop table if exists projection_snapshots;
    `);
  }
}
