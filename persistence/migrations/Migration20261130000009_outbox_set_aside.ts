import { Migration } from '@mikro-orm/migrations';

/**
 * Outbox rows the relay gave up on (they failed OUTBOX_MAX_PUBLISH_ATTEMPTS times:
 * no stream takes their subject, the envelope is over the server's payload limit):
 * set aside, so they are no longer claimed at the head of every batch, and their
 * aggregate's later rows wait behind them (order per aggregate holds) until an
 * operator retries them (`npm run outbox -- retry`).
 */
export class Migration20261130000009_outbox_set_aside extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      alter table outbox add column set_aside_at timestamptz;
      create index outbox_set_aside on outbox (aggregate_type, aggregate_id) where set_aside_at is not null;
    `);
  }

  override async down(): Promise<void> {
    this.addSql('drop index outbox_set_aside; alter table outbox drop column set_aside_at;');
  }
}
