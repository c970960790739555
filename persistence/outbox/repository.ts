/**
 * The outbox's statements: appending events in the caller's transaction
 * (events/outbox.ts), and the relay's claim, per-aggregate locks, cursors and marks
 * (events/relay.ts).
 *
 * The claim is an entity read with FOR UPDATE SKIP LOCKED, so relays run side by
 * side. Raw SQL here, and why: the per-aggregate sequence is one upsert that
 * increments and row-locks until commit (gapless); the per-aggregate advisory locks
 * and the cursor upsert are set-based over the batch; a failed publish adds one to
 * its attempts.
 */
import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { dbNow, notifyAtCommit, sql } from '../sql';
import { OutboxCursor, OutboxEvent, type OutboxEnvelope } from './entities';

/** NOTIFY channel: events were committed to the outbox. */
export const OUTBOX_CHANNEL = 'outbox_events';

/** Advisory-lock key space of the relay (the first of pg_try_advisory_xact_lock's two keys). */
const RELAY_LOCK_SPACE = 74_221_002;

export interface AggregateKey {
  aggregateType: string;
  aggregateId: string;
}

/** Whether an event with this id is in the outbox already. */
export async function isAppended(em: EntityManager, eventId: string): Promise<boolean> {
  return (await em.count(OutboxEvent, { eventId })) > 0;
}

/** Takes the next sequence number of an aggregate (row-locked until commit: gapless). */
export async function nextSequence(em: EntityManager, aggregate: AggregateKey): Promise<number> {
  const [row] = await sql<{ last_sequence: number }>(
    em,
    `insert into event_sequences (aggregate_type, aggregate_id, last_sequence) values (:aggregateType, :aggregateId, 1)
     on conflict (aggregate_type, aggregate_id) do update set last_sequence = event_sequences.last_sequence + 1
     returning last_sequence`,
    { aggregateType: aggregate.aggregateType, aggregateId: aggregate.aggregateId },
  );
  return row.last_sequence;
}

/** One raw insert: the hot path of every commit, and the envelope is JSON already (no entity diffing of a jsonb tree). */
export async function insertOutboxEvent(em: EntityManager, envelope: OutboxEnvelope, subject: string): Promise<void> {
  await sql(
    em,
    `insert into outbox (event_id, event_type, subject, aggregate_type, aggregate_id, sequence, envelope)
     values (:eventId, :eventType, :subject, :aggregateType, :aggregateId, :sequence, :envelope::jsonb)`,
    {
      eventId: envelope.eventId,
      eventType: envelope.eventType,
      subject,
      aggregateType: envelope.aggregateType,
      aggregateId: envelope.aggregateId,
      sequence: envelope.sequence,
      envelope: JSON.stringify(envelope),
    },
  );
}

/** Wakes the relays when the caller's transaction commits. */
export async function notifyRelays(em: EntityManager): Promise<void> {
  await notifyAtCommit(em, OUTBOX_CHANNEL);
}

/**
 * Claims up to `limit` unpublished events, oldest first, locked until commit, skipping
 * those another relay holds, and every event of an aggregate that has one set aside
 * (it waits behind that one).
 */
export async function claimUnpublished(em: EntityManager, limit: number): Promise<OutboxEvent[]> {
  return em
    .createQueryBuilder(OutboxEvent, 'o')
    .select('*')
    .where({ publishedAt: null })
    .andWhere(
      'not exists (select 1 from outbox s where s.set_aside_at is not null and s.aggregate_type = o.aggregate_type and s.aggregate_id = o.aggregate_id)',
    )
    .orderBy({ id: 'asc' })
    .limit(limit)
    .setLockMode(LockMode.PESSIMISTIC_PARTIAL_WRITE)
    .getResultList();
}

/**
 * Takes the transaction-scoped advisory lock of each aggregate that no other relay
 * holds (never waiting for one); returns the aggregates it got.
 */
export async function lockAggregates(em: EntityManager, aggregates: AggregateKey[]): Promise<AggregateKey[]> {
  if (aggregates.length === 0) return [];
  const rows = await sql<AggregateKey>(
    em,
    `select k."aggregateType", k."aggregateId" from jsonb_to_recordset(:aggregates::jsonb) as k("aggregateType" text, "aggregateId" text)
     where pg_try_advisory_xact_lock(:lockSpace, hashtext(k."aggregateType" || '/' || k."aggregateId"))`,
    { aggregates: JSON.stringify(aggregates.map((a) => ({ aggregateType: a.aggregateType, aggregateId: a.aggregateId }))), lockSpace: RELAY_LOCK_SPACE },
  );
  return rows;
}

/**
 * The publish cursors of these aggregates (absent: nothing published yet). Read in a
 * statement after lockAggregates, so its snapshot sees what the lock's previous holder
 * committed.
 */
export async function publishCursors(em: EntityManager, aggregates: AggregateKey[]): Promise<OutboxCursor[]> {
  if (aggregates.length === 0) return [];
  return em.find(
    OutboxCursor,
    { $or: aggregates.map((a) => ({ aggregateType: a.aggregateType, aggregateId: a.aggregateId })) },
    { disableIdentityMap: true },
  );
}

/** Marks events published and moves their aggregates' cursors, in the caller's transaction. */
export async function markPublished(em: EntityManager, ids: string[], cursors: (AggregateKey & { sequence: number })[]): Promise<void> {
  if (ids.length === 0) return;
  await em.nativeUpdate(OutboxEvent, { id: { $in: ids } }, { publishedAt: dbNow() });
  await sql(
    em,
    `insert into outbox_cursors (aggregate_type, aggregate_id, published_sequence)
     select "aggregateType", "aggregateId", sequence
     from jsonb_to_recordset(:cursors::jsonb) as c("aggregateType" text, "aggregateId" text, sequence integer)
     on conflict (aggregate_type, aggregate_id)
     do update set published_sequence = excluded.published_sequence, updated_at = now()`,
    { cursors: JSON.stringify(cursors.map((c) => ({ aggregateType: c.aggregateType, aggregateId: c.aggregateId, sequence: c.sequence }))) },
  );
}

/** Events committed and not yet on the stream. */
export async function unpublishedCount(em: EntityManager): Promise<number> {
  return em.count(OutboxEvent, { publishedAt: null });
}

/** How long the oldest event not yet on the stream has waited (ms; 0 when none waits): the relay's lag. */
export async function oldestUnpublishedAgeMs(em: EntityManager): Promise<number> {
  const [row] = await sql<{ age: number | null }>(em, 'select extract(epoch from now() - min(created_at)) * 1000 as age from outbox where published_at is null');
  return Math.max(0, Math.round(Number(row.age ?? 0)));
}

/** How long events waited in the outbox before they were on the stream (ms; median and 95th percentile over all published). */
export async function publishLag(em: EntityManager): Promise<{ events: number; p50: number; p95: number }> {
  const [row] = await sql<{ events: string; p50: number | null; p95: number | null }>(
    em,
    `select count(*) as events,
            percentile_cont(0.5) within group (order by extract(epoch from published_at - created_at) * 1000) as p50,
            percentile_cont(0.95) within group (order by extract(epoch from published_at - created_at) * 1000) as p95
     from outbox where published_at is not null`,
  );
  return { events: Number(row.events), p50: Number(row.p50 ?? 0), p95: Number(row.p95 ?? 0) };
}

/** Counts a failed publish of one event and keeps its error. */
/** Counts a failed publish; at `maxAttempts` the row is set aside. Returns whether it was. */
export async function recordPublishFailure(em: EntityManager, id: string, error: string, maxAttempts: number): Promise<boolean> {
  const [row] = await sql<{ set_aside: boolean }>(
    em,
    `update outbox set publish_attempts = publish_attempts + 1, last_error = :error,
       set_aside_at = case when publish_attempts + 1 >= :maxAttempts then now() end
     where id = :id returning set_aside_at is not null as set_aside`,
    { id, error: error.slice(0, 2000), maxAttempts },
  );
  return row?.set_aside ?? false;
}

export interface SetAsideEvent {
  id: string;
  eventId: string;
  eventType: string;
  subject: string;
  aggregateType: string;
  aggregateId: string;
  sequence: number;
  publishAttempts: number;
  lastError: string | null;
  setAsideAt: string;
}

/** The rows set aside, oldest first (an operator's list). */
export async function setAsideEvents(em: EntityManager): Promise<SetAsideEvent[]> {
  const rows = await em.find(OutboxEvent, { setAsideAt: { $ne: null } }, { orderBy: { id: 'asc' }, disableIdentityMap: true });
  return rows.map((r) => ({
    id: r.id,
    eventId: r.eventId,
    eventType: r.eventType,
    subject: r.subject,
    aggregateType: r.aggregateType,
    aggregateId: r.aggregateId,
    sequence: r.sequence,
    publishAttempts: r.publishAttempts,
    lastError: r.lastError ?? null,
    setAsideAt: new Date(r.setAsideAt as Date).toISOString(),
  }));
}

/** Puts set-aside rows back in the relay's way (all, or these ids), with a fresh attempt count. Returns how many. */
export async function retrySetAside(em: EntityManager, ids: string[] | 'all'): Promise<number> {
  const where = ids === 'all' ? { setAsideAt: { $ne: null } } : { id: { $in: ids }, setAsideAt: { $ne: null } };
  return em.nativeUpdate(OutboxEvent, where, { setAsideAt: null, publishAttempts: 0 });
}

/** Deletes up to `limit` published outbox rows published before `before` (the retention job). Never an unpublished one. */
export async function prunePublishedOutbox(em: EntityManager, before: Date, limit: number): Promise<number> {
  const rows = await sql<{ n: number }>(
    em,
    `with gone as (
       delete from outbox where id in (select id from outbox where published_at is not null and published_at < :before order by id limit :limit) returning 1)
     select count(*)::int as n from gone`,
    { before: before.toISOString(), limit },
  );
  return rows[0].n;
}
