/**
 * The subscriber runner's bookkeeping (subscribers/framework.ts): processed events,
 * positions per aggregate, failure counts. Every call but countFailure runs in the
 * transaction that applies the event, so the bookkeeping commits with the effect.
 *
 * The position is read under a row lock (an entity read with FOR UPDATE), so two
 * copies of a subscriber apply one aggregate one at a time. Raw SQL here, and why: a
 * rebuild locks every position row of the subscriber without reading them, and a
 * failure adds one to its count in one upsert.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { dbNow, sql } from '../sql';
import { ProcessedEvent, ProjectionSnapshot, SubscriberFailure, SubscriberHeldEvent, SubscriberPosition } from './entities';

export interface AggregateOf {
  eventId: string;
  eventType: string;
  aggregateType: string;
  aggregateId: string;
  sequence: number;
}

export async function isProcessed(em: EntityManager, subscriber: string, eventId: string): Promise<boolean> {
  return (await em.count(ProcessedEvent, { subscriber, eventId })) > 0;
}

/**
 * Locks the subscriber's position in the event's aggregate (created at 0) until commit
 * and returns it: one upsert, whose no-op update takes the row lock (so a rebuild
 * deleting positions cannot slip in between a create and a lock).
 */
export async function lockAggregatePosition(em: EntityManager, subscriber: string, event: AggregateOf): Promise<number> {
  const [row] = await sql<{ last_sequence: number }>(
    em,
    `insert into subscriber_positions (subscriber, aggregate_type, aggregate_id, last_sequence) values (:subscriber, :aggregateType, :aggregateId, 0)
     on conflict (subscriber, aggregate_type, aggregate_id) do update set last_sequence = subscriber_positions.last_sequence
     returning last_sequence`,
    { subscriber, aggregateType: event.aggregateType, aggregateId: event.aggregateId },
  );
  return Number(row.last_sequence);
}

/**
 * Records the event as processed: the processed-event row, the position moved up to
 * it (never back: a redriven event's turn may have passed), its failures forgotten.
 * `position` is what lockAggregatePosition returned in this transaction.
 */
export async function recordProcessed(
  em: EntityManager,
  subscriber: string,
  event: AggregateOf,
  position: number,
  /** false when this is the event's first delivery: no failure of it can be on record. */
  mayHaveFailed = true,
): Promise<void> {
  await em.insert(ProcessedEvent, { subscriber, eventId: event.eventId, eventType: event.eventType });
  await em.nativeUpdate(
    SubscriberPosition,
    { subscriber, aggregateType: event.aggregateType, aggregateId: event.aggregateId },
    { lastSequence: Math.max(position, event.sequence), updatedAt: dbNow() },
  );
  if (mayHaveFailed) await forgetFailure(em, subscriber, event.eventId);
}

/** Counts one more failure of the event (its own transaction); returns the count. */
export async function countFailure(em: EntityManager, subscriber: string, eventId: string, error: string): Promise<number> {
  const [row] = await sql<{ attempts: number }>(
    em,
    `insert into subscriber_failures (subscriber, event_id, attempts, last_error) values (:subscriber, :eventId, 1, :error)
     on conflict (subscriber, event_id) do update set attempts = subscriber_failures.attempts + 1, last_error = excluded.last_error, updated_at = now()
     returning attempts`,
    { subscriber, eventId, error },
  );
  return row.attempts;
}

/** Keeps an event back until its turn (acknowledged on JetStream meanwhile); holding it again changes nothing. */
export async function holdEvent(em: EntityManager, subscriber: string, event: AggregateOf, raw: unknown): Promise<void> {
  await em
    .createQueryBuilder(SubscriberHeldEvent)
    .insert({ subscriber, eventId: event.eventId, aggregateType: event.aggregateType, aggregateId: event.aggregateId, sequence: event.sequence, event: raw })
    .onConflict()
    .ignore()
    .execute('run');
}

/** Done with a held event (applied, dead-lettered, or its turn passed). */
export async function forgetHeld(em: EntityManager, subscriber: string, eventId: string): Promise<void> {
  await em.nativeDelete(SubscriberHeldEvent, { subscriber, eventId });
}

/** Held events whose turn has come (or passed), in aggregate order: the raw events as received. */
export async function dueHeldEvents(em: EntityManager, subscriber: string, limit: number): Promise<unknown[]> {
  const rows = await sql<{ event: unknown }>(
    em,
    `select h.event from subscriber_held_events h
     left join subscriber_positions p on p.subscriber = h.subscriber and p.aggregate_type = h.aggregate_type and p.aggregate_id = h.aggregate_id
     where h.subscriber = :subscriber and h.sequence <= coalesce(p.last_sequence, 0) + 1
     order by h.aggregate_type, h.aggregate_id, h.sequence limit :limit`,
    { subscriber, limit },
  );
  return rows.map((r) => r.event);
}

/** How many events the subscriber holds back, and how long the oldest has waited (ms). */
export async function heldSummary(em: EntityManager, subscriber: string): Promise<{ held: number; oldestMs: number }> {
  const [row] = await sql<{ held: string; oldest: number | null }>(
    em,
    'select count(*) as held, extract(epoch from now() - min(held_at)) * 1000 as oldest from subscriber_held_events where subscriber = :subscriber',
    { subscriber },
  );
  return { held: Number(row.held), oldestMs: Math.round(Number(row.oldest ?? 0)) };
}

/** Moves the position past a dead-lettered event, if it is the next one (so the aggregate's later events flow). */
export async function skipPast(em: EntityManager, subscriber: string, event: AggregateOf): Promise<void> {
  await em.nativeUpdate(
    SubscriberPosition,
    { subscriber, aggregateType: event.aggregateType, aggregateId: event.aggregateId, lastSequence: event.sequence - 1 },
    { lastSequence: event.sequence, updatedAt: dbNow() },
  );
}

/** A fresh start for an event's failure count. */
export async function forgetFailure(em: EntityManager, subscriber: string, eventId: string): Promise<void> {
  await em.nativeDelete(SubscriberFailure, { subscriber, eventId });
}

/** Locks every position row of the subscriber until commit (a rebuild's first step). */
export async function lockAllPositions(em: EntityManager, subscriber: string): Promise<void> {
  await sql(em, 'select 1 from subscriber_positions where subscriber = :subscriber for update', { subscriber });
}

/** Forgets everything the subscriber processed (a rebuild replays it all). */
export async function forgetSubscriber(em: EntityManager, subscriber: string): Promise<void> {
  await em.nativeDelete(ProcessedEvent, { subscriber });
  await em.nativeDelete(SubscriberPosition, { subscriber });
  await em.nativeDelete(SubscriberFailure, { subscriber });
  await em.nativeDelete(SubscriberHeldEvent, { subscriber });
}

// --- snapshots and retention -------------------------------------------------------

export interface SnapshotRecord {
  id: string;
  takenAt: Date;
  streamSequences: Record<string, number>;
  positions: { aggregateType: string; aggregateId: string; lastSequence: number }[];
  state: unknown;
}

/** Every position of the subscriber (for a snapshot). */
export async function listPositions(em: EntityManager, subscriber: string): Promise<SnapshotRecord['positions']> {
  const rows = await em.find(SubscriberPosition, { subscriber }, { orderBy: { aggregateType: 'asc', aggregateId: 'asc' }, disableIdentityMap: true });
  return rows.map((r) => ({ aggregateType: r.aggregateType, aggregateId: r.aggregateId, lastSequence: r.lastSequence }));
}

/** Puts a snapshot's positions back (after forgetSubscriber, in the rebuild's transaction). */
export async function restorePositions(em: EntityManager, subscriber: string, positions: SnapshotRecord['positions']): Promise<void> {
  if (positions.length === 0) return;
  await sql(
    em,
    `insert into subscriber_positions (subscriber, aggregate_type, aggregate_id, last_sequence)
     select :subscriber, p."aggregateType", p."aggregateId", p."lastSequence"
     from jsonb_to_recordset(:positions::jsonb) as p("aggregateType" text, "aggregateId" text, "lastSequence" integer)`,
    { subscriber, positions: JSON.stringify(positions) },
  );
}

/** Stores a snapshot and keeps only the subscriber's `keep` latest. Returns its id. */
export async function saveSnapshot(em: EntityManager, subscriber: string, s: Omit<SnapshotRecord, 'id' | 'takenAt'>, keep = 2): Promise<string> {
  const id = (await em.insert(ProjectionSnapshot, { subscriber, streamSequences: s.streamSequences, positions: s.positions, state: s.state })) as string;
  await sql(
    em,
    `delete from projection_snapshots where subscriber = :subscriber and id not in (
       select id from projection_snapshots where subscriber = :subscriber order by id desc limit :keep)`,
    { subscriber, keep },
  );
  return String(id);
}

export async function latestSnapshot(em: EntityManager, subscriber: string): Promise<SnapshotRecord | null> {
  const row = await em.findOne(ProjectionSnapshot, { subscriber }, { orderBy: { id: 'desc' }, disableIdentityMap: true });
  return row ? { id: row.id, takenAt: row.takenAt, streamSequences: row.streamSequences, positions: row.positions, state: row.state } : null;
}

/**
 * Deletes up to `limit` processed-event records older than `before` (the retention
 * job; `before` is already past what idempotency needs, domain/retention.ts).
 */
export async function pruneProcessedEvents(em: EntityManager, before: Date, limit: number): Promise<number> {
  const rows = await sql<{ n: number }>(
    em,
    `with gone as (
       delete from processed_events where ctid in (select ctid from processed_events where processed_at < :before limit :limit) returning 1)
     select count(*)::int as n from gone`,
    { before: before.toISOString(), limit },
  );
  return rows[0].n;
}
