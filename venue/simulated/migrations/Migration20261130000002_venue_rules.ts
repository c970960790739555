import { Migration } from '@mikro-orm/migrations';

/**
 * Rules an operator gives the simulated venue per symbol, so a venue's refusals run on
 * the real path: refuse cancels (the orders are in the matching engine's hands) and
 * reject submissions (with a reason).
 */
export class Migration20261130000002_venue_rules extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table venue_rules (
        symbol text primary key,
        refuse_cancels boolean not null default false,
        -- null: submissions are taken; otherwise each is rejected with this reason
        reject_submissions text check (reject_submissions is null or length(reject_submissions) between 1 and 200),
        updated_at timestamptz not null default now()
      );
    `);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists venue_rules;');
  }
}
