/**
 * The one way a repository runs a raw statement: in the EntityManager's transaction,
 * with named parameters (`:name`, bound by knex, so values are never spliced into the
 * text by hand and a statement reads by name, not by position).
 *
 * Raw SQL is for what the ORM cannot say: the guarded balance update, upserts and
 * updates that add to what is there (counters, sequences), claims that update the rows
 * they lock (UPDATE ... FOR UPDATE SKIP LOCKED), locks that read nothing back,
 * advisory locks, times computed on the database's clock, NOTIFY, set-based
 * statements over many rows, and the outbox insert every commit makes (a JSON
 * envelope the ORM would otherwise walk as an entity value; measured with the
 * benchmark's worker profile). Everything else goes through entities, row locks
 * included (find with a lockMode).
 *
 * A JS array is refused as a value: knex would expand it into a list of values. Pass
 * a list as JSON and unpack it in SQL (`jsonb_array_elements_text(:ids::jsonb)`,
 * `jsonb_to_recordset(:rows::jsonb) as r(...)`). A parameter may not be named like a
 * type the statement casts to (`:day::date`, not `:date::date`): knex would read the
 * cast's `:date` as the parameter again.
 */
import { raw } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';

export type SqlParams = Record<string, string | number | boolean | null>;

/** Rows of a raw statement. Numeric columns come back as strings: map them through str(). */
export async function sql<Row = Record<string, unknown>>(em: EntityManager, text: string, params: SqlParams = {}): Promise<Row[]> {
  for (const [name, value] of Object.entries(params)) {
    if (Array.isArray(value) || value === undefined) throw new Error(`sql parameter :${name} must be a single value (pass lists as JSON)`);
    if (new RegExp(`::${name}\\b`).test(text)) throw new Error(`sql parameter :${name} is named like the cast ::${name}: rename it`);
  }
  return em.execute<Row[]>(em.getKnex().raw(text, params));
}

/** NOTIFY at commit: wakes the loop listening on `channel` (persistence/listen.ts). */
export async function notifyAtCommit(em: EntityManager, channel: string): Promise<void> {
  await sql(em, 'select pg_notify(:channel, :payload)', { channel, payload: '' });
}

/**
 * The database's clock (the transaction's start time) as a value for an entity
 * write: bookkeeping times (published, closed, delivered, updated) come from
 * PostgreSQL, as the raw statements' now() does, never from the clock of whichever
 * process wrote them. A new fragment per use (fragments are single use).
 */
export function dbNow(): Date {
  return raw('now()');
}
