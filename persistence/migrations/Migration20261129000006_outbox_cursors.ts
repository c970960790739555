import { Migration } from '@mikro-orm/migrations';

/**
 * The relay's per-aggregate publish cursor: the highest sequence of an aggregate that
 * is on the stream, moved in the same transaction that marks the rows published. A
 * relay publishes an aggregate's row only when its sequence is the cursor + 1, holding
 * the cursor's row lock while it does, so the stream order of every aggregate equals
 * its sequence by construction (not by a check that could miss an interleaving).
 *
 * Existing aggregates start at the highest sequence below which everything is
 * published. A row published out of order before this migration (a later sequence on
 * the stream while an earlier one was not) is marked unpublished again, so it is
 * republished after the earlier one: consumers drop the copy by eventId.
 */
export class Migration20261129000006_outbox_cursors extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
      create table outbox_cursors (
        aggregate_type text not null,
        aggregate_id text not null,
        published_sequence integer not null,
        updated_at timestamptz not null default now(),
        primary key (aggregate_type, aggregate_id)
      );

      with first_gap as (
        select aggregate_type, aggregate_id, min(sequence) as sequence
        from outbox where published_at is null group by aggregate_type, aggregate_id
      )
      update outbox o set published_at = null
      from first_gap g
      where o.aggregate_type = g.aggregate_type and o.aggregate_id = g.aggregate_id
        and o.sequence > g.sequence and o.published_at is not null;

      insert into outbox_cursors (aggregate_type, aggregate_id, published_sequence)
      select aggregate_type, aggregate_id,
             coalesce(min(sequence) filter (where published_at is null) - 1, max(sequence))
      from outbox group by aggregate_type, aggregate_id;
    `);
  }

  override async down(): Promise<void> {
    this.addSql('drop table if exists outbox_cursors;');
  }
}
