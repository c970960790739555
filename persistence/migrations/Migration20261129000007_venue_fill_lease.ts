import { Migration } from '@mikro-orm/migrations';

/**
 * The fill dispatcher leases a whole venue order (not single fills): only the lease
 * holder delivers that order's fills, one after another in trade order, so two
 * dispatchers, or a retry after a failed delivery, can never let a later fill of an
 * order overtake an earlier one.
 */
export class Migration20261129000007_venue_fill_lease extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table venue_orders add column fill_lease_until timestamptz;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table venue_orders drop column if exists fill_lease_until;`);
  }
}
