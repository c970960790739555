/**
 * What retention may delete, and what it must keep: pure rules, shared by the
 * scheduled job (workflows/retention) and its configuration.
 *
 * Idempotency needs an event id for as long as the event can come back:
 * - a subscriber dedupes by its processed-event records (and its per-aggregate
 *   position); JetStream can deliver an acknowledged event again while the stream
 *   still holds it (a consumer re-created starts from the stream's beginning), a
 *   redelivery can follow up to the consumers' ack wait later, and a dead-lettered
 *   event can be redriven while DEAD_LETTERS holds it. So a processed-event record is
 *   kept at least max(stream max age, dead-letter max age) + ack wait + duplicate window;
 * - an outbox row is the publisher's idempotency (Nats-Msg-Id): only published rows
 *   go, and none younger than the duplicate window.
 * A configured age under its floor is raised to the floor, never the other way.
 */

export const RETENTION_TARGETS = ['outbox', 'processedEvents', 'venueFills', 'notifications'] as const;
export type RetentionTarget = (typeof RETENTION_TARGETS)[number];

/** How old (ms) a row of each target must be before the job deletes it. */
export type RetentionAges = Record<RetentionTarget, number>;

/** How long the event streams can bring an event back. */
export interface RedeliveryHorizon {
  streamMaxAgeMs: number;
  deadLettersMaxAgeMs: number;
  ackWaitMs: number;
  duplicateWindowMs: number;
}

export function processedEventsFloorMs(h: RedeliveryHorizon): number {
  return Math.max(h.streamMaxAgeMs, h.deadLettersMaxAgeMs) + h.ackWaitMs + h.duplicateWindowMs;
}

/** The ages the job applies: the configured ones, raised to what idempotency needs. */
export function effectiveRetentionAges(configured: RetentionAges, h: RedeliveryHorizon): RetentionAges {
  return {
    outbox: Math.max(configured.outbox, h.duplicateWindowMs),
    processedEvents: Math.max(configured.processedEvents, processedEventsFloorMs(h)),
    venueFills: configured.venueFills,
    notifications: configured.notifications,
  };
}
