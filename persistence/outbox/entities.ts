/**
 * The transactional outbox (migrations 002 and 006): every event, written in the
 * transaction of the change it describes, and the relay's publish cursor per
 * aggregate. event_sequences (the per-aggregate counter) has no entity: it is only
 * ever bumped by one upsert, in the repository.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

/**
 * What the outbox needs to know of an event's envelope to store and order it; the
 * events layer owns the envelope's full schema (events/catalogue.ts).
 */
export type OutboxEnvelope = {
  eventId: string;
  eventType: string;
  aggregateType: string;
  aggregateId: string;
  sequence: number;
} & Record<string, unknown>;

export const OutboxEvent = defineEntity({
  name: 'OutboxEvent',
  tableName: 'outbox',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    eventId: p.uuid(),
    eventType: p.text(),
    subject: p.text(),
    aggregateType: p.text(),
    aggregateId: p.text(),
    sequence: p.integer(),
    envelope: p.json<OutboxEnvelope>().columnType('jsonb'),
    createdAt: p.datetime().defaultRaw('now()'),
    publishedAt: p.datetime().nullable(),
    publishAttempts: p.integer().defaultRaw('0'),
    lastError: p.text().nullable(),
    /** Given up on after too many failed publishes; its aggregate waits behind it. */
    setAsideAt: p.datetime().nullable(),
  },
});
export type OutboxEvent = InferEntity<typeof OutboxEvent>;

export const OutboxCursor = defineEntity({
  name: 'OutboxCursor',
  tableName: 'outbox_cursors',
  properties: {
    aggregateType: p.text().primary(),
    aggregateId: p.text().primary(),
    /** The highest sequence of the aggregate that is on the stream. */
    publishedSequence: p.integer(),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
});
export type OutboxCursor = InferEntity<typeof OutboxCursor>;

export const outboxEntities = [OutboxEvent, OutboxCursor];
