import { Migration } from '@mikro-orm/migrations';

/**
 * What each running process reports of its circuit breakers (the ones not closed, and
 * the venue's always), refreshed every few seconds, so /readyz in the API process can
 * show the breakers of the worker and the notification subscriber. A row not refreshed
 * lately belongs to a process that is gone and is ignored.
 */
export class Migration20261129214500_breaker_states extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table breaker_states (
        instance text primary key,
        process text not null,
        breakers jsonb not null,
        updated_at timestamptz not null default now()
      );
    `);
  }

  override async down(): Promise<void> {
    this.addSql('drop table breaker_states;');
  }
}
