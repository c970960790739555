/**
 * The transactional outbox: events are written in the same PostgreSQL
 * transaction as the state change they describe, with a gapless sequence per
 * aggregate, and published later by the relay. Nothing is published that did not
 * commit, and nothing that committed is lost.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { v5 as uuidv5 } from 'uuid';
import type { EventContext } from '../domain/causation';
import { insertOutboxEvent, isAppended, nextSequence, notifyRelays } from '../persistence/outbox/repository';
import { aggregateIdFor, CATALOGUE, parseEvent, SOURCE, type EventData, type EventEnvelope, type EventType } from './catalogue';
import { subjectFor } from './streams';

/** Namespace for deterministic event ids (UUID v5 of the change's idempotency key). */
const EVENT_ID_NAMESPACE = '0f4f1c0e-8a7b-4d55-9d0e-6f3a2b1c9e77';

export interface EventDraft<T extends EventType = EventType> {
  eventType: T;
  data: EventData<T>;
  /** Overrides the context's causationId (secondary events point at the primary one). */
  causationId?: string | null;
}

/** A typed draft (the data must match the event type's schema). */
export function draft<T extends EventType>(eventType: T, data: EventData<T>, causationId?: string | null): EventDraft {
  return { eventType, data, ...(causationId !== undefined ? { causationId } : {}) } as EventDraft;
}

export function eventIdFor(idempotencyKey: string, index: number): string {
  return uuidv5(`${idempotencyKey}#${index}`, EVENT_ID_NAMESPACE);
}

export interface AppendOptions {
  /**
   * The caller's transaction has already proven this change new (it wrote the change's
   * own version or idempotency key, which a retry finds taken): the lookup is skipped.
   * A wrong `fresh` cannot duplicate an event: the outbox's unique event id fails the
   * transaction instead.
   */
  fresh?: boolean;
}

/**
 * Appends events to the outbox inside the caller's transaction. Event ids derive from
 * `idempotencyKey` (and the event's position), so the same change always yields the
 * same ids, which the relay reuses as Nats-Msg-Id. Every event is validated against
 * the catalogue first: an invalid event fails the whole transaction.
 */
export async function appendEvents(
  em: EntityManager,
  idempotencyKey: string,
  drafts: EventDraft[],
  ctx: EventContext,
  opts: AppendOptions = {},
): Promise<EventEnvelope[]> {
  if (drafts.length === 0) return [];
  // Appended before (a retried activity): the ids are the same, so nothing is added twice.
  if (!opts.fresh && (await isAppended(em, eventIdFor(idempotencyKey, 0)))) return [];
  const written: EventEnvelope[] = [];
  const timestamp = new Date().toISOString();
  for (const [i, draft] of drafts.entries()) {
    const entry = CATALOGUE[draft.eventType];
    const data = draft.data as Record<string, unknown>;
    const aggregateId = aggregateIdFor(draft.eventType, data);
    const envelope: EventEnvelope = {
      eventId: eventIdFor(idempotencyKey, i),
      eventType: draft.eventType,
      eventVersion: entry.version,
      timestamp,
      source: SOURCE,
      correlationId: ctx.correlationId,
      causationId: draft.causationId !== undefined ? draft.causationId : ctx.causationId,
      ...(ctx.traceId ? { traceId: ctx.traceId } : {}),
      aggregateType: entry.aggregate,
      aggregateId,
      sequence: await nextSequence(em, { aggregateType: entry.aggregate, aggregateId }),
      data,
    };
    parseEvent(envelope);
    await insertOutboxEvent(em, envelope, subjectFor(draft.eventType, data));
    written.push(envelope);
  }
  // Delivered at commit: wakes the relay without waiting for its next poll.
  if (written.length > 0) await notifyRelays(em);
  return written;
}
