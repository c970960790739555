/**
 * What the subscriber runner (subscribers/framework.ts) keeps per subscriber
 * (migration 002): the events it processed, its position in each aggregate, how
 * often an event failed before it is dead-lettered, and the events it holds back;
 * and its projection's snapshots (008).
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';

export const ProcessedEvent = defineEntity({
  name: 'ProcessedEvent',
  tableName: 'processed_events',
  properties: {
    subscriber: p.text().primary(),
    eventId: p.uuid().primary(),
    eventType: p.text(),
    processedAt: p.datetime().defaultRaw('now()'),
  },
});
export type ProcessedEvent = InferEntity<typeof ProcessedEvent>;

export const SubscriberPosition = defineEntity({
  name: 'SubscriberPosition',
  tableName: 'subscriber_positions',
  properties: {
    subscriber: p.text().primary(),
    aggregateType: p.text().primary(),
    aggregateId: p.text().primary(),
    /** The highest sequence of the aggregate the subscriber is done with (applied, skipped or dead-lettered). */
    lastSequence: p.integer(),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
});
export type SubscriberPosition = InferEntity<typeof SubscriberPosition>;

export const SubscriberFailure = defineEntity({
  name: 'SubscriberFailure',
  tableName: 'subscriber_failures',
  properties: {
    subscriber: p.text().primary(),
    eventId: p.uuid().primary(),
    attempts: p.integer(),
    lastError: p.text(),
    updatedAt: p.datetime().defaultRaw('now()'),
  },
});
export type SubscriberFailure = InferEntity<typeof SubscriberFailure>;

/** A projection's state at a moment, and how far into each stream it reflects (migration 008). */
export const ProjectionSnapshot = defineEntity({
  name: 'ProjectionSnapshot',
  tableName: 'projection_snapshots',
  properties: {
    id: p.bigint('string').primary().autoincrement(),
    subscriber: p.text(),
    takenAt: p.datetime().defaultRaw('now()'),
    /** Per subscribed stream (its key in events/streams.ts): every message up to this sequence is reflected. */
    streamSequences: p.json<Record<string, number>>(),
    positions: p.json<{ aggregateType: string; aggregateId: string; lastSequence: number }[]>(),
    state: p.json<unknown>(),
  },
});
export type ProjectionSnapshot = InferEntity<typeof ProjectionSnapshot>;


/** An event held back until its turn (migration subscriber_held_events): applied when the aggregate's position reaches sequence - 1. */
export const SubscriberHeldEvent = defineEntity({
  name: 'SubscriberHeldEvent',
  tableName: 'subscriber_held_events',
  properties: {
    subscriber: p.text().primary(),
    eventId: p.uuid().primary(),
    aggregateType: p.text(),
    aggregateId: p.text(),
    sequence: p.integer(),
    event: p.json<unknown>(),
    heldAt: p.datetime().defaultRaw('now()'),
  },
});
export type SubscriberHeldEvent = InferEntity<typeof SubscriberHeldEvent>;

export const subscriberStateEntities = [ProcessedEvent, SubscriberPosition, SubscriberFailure, ProjectionSnapshot, SubscriberHeldEvent];
