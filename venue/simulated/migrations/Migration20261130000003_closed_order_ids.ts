import { Migration } from '@mikro-orm/migrations';

/**
 * Order ids the venue was asked to cancel before it ever received them. A submission
 * that arrives later under such an id is refused, so an order whose workflow gave up
 * on submitting it (its deadline passed, or its owner cancelled it while NEW) can
 * never go live behind the workflow's back.
 */
export class Migration20261130000003_closed_order_ids extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table venue_closed_order_ids (
        order_id uuid primary key,
        closed_at timestamptz not null default now()
      );
    `);
  }

  override async down(): Promise<void> {
    this.addSql('drop table venue_closed_order_ids;');
  }
}
