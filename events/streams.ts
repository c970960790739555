/**
 * The JetStream layout, written once: every stream, the subjects it takes, how an
 * event's subject is built, and which aggregate's events it holds. The README's
 * stream table is checked against this table by a test. Streams are declared in
 * code and applied idempotently at start, on file storage with a duplicate window
 * (Nats-Msg-Id = eventId).
 *
 * Subjects put the account first after the action, so a consumer can take one event
 * type across all aggregates (`orders.filled.>`) or everything of one account
 * (`orders.*.<accountId>.>`).
 */
import type { StreamSpec } from '../messaging/nats';
import { nanos, Topology } from '../messaging/nats';
import { CATALOGUE, type AggregateType, type EventType } from './catalogue';

interface StreamEntry {
  name: string;
  subjects: readonly string[];
  description: string;
  /** The subject layout, as the README shows it. */
  layout: string;
}

export const STREAMS = {
  orders: { name: 'ORDERS', subjects: ['orders.>'], description: 'Order lifecycle events', layout: 'orders.<action>.<accountId>.<orderId>' },
  funds: { name: 'FUNDS', subjects: ['funds.>'], description: 'Funds movements: deposits, withdrawals, locks, releases', layout: 'funds.<action>.<accountId>' },
  trades: { name: 'TRADES', subjects: ['trades.>'], description: 'Executions, one per fill', layout: 'trades.executed.<accountId>.<symbol>' },
  accounts: { name: 'ACCOUNTS', subjects: ['accounts.>'], description: 'Account lifecycle', layout: 'accounts.<action>.<accountId>' },
  deadLetters: {
    name: 'DEAD_LETTERS',
    subjects: ['deadletters.>', 'redrive.>'],
    description: 'Events a subscriber could not process (deadletters.<subscriber>.>), and their redrives (redrive.<subscriber>.>)',
    layout: 'deadletters.<subscriber>.<eventType>, redrive.<subscriber>.<eventType>',
  },
} as const satisfies Record<string, StreamEntry>;

export type StreamKey = keyof typeof STREAMS;

/** The stream that holds each aggregate's events. */
export const STREAM_OF_AGGREGATE = { order: 'orders', funds: 'funds', trades: 'trades', account: 'accounts' } as const satisfies Record<AggregateType, StreamKey>;

/** The subject an event is published on (before the deployment's prefix), per STREAMS' layouts. */
export function subjectFor(eventType: EventType, data: Record<string, unknown>): string {
  const action = eventType.split('.')[1];
  switch (CATALOGUE[eventType].aggregate) {
    case 'order': {
      const order = data.order as { accountId: string; orderId: string };
      return `orders.${action}.${order.accountId}.${order.orderId}`;
    }
    case 'funds':
      return `funds.${action}.${data.accountId as string}`;
    case 'trades':
      return `trades.${action}.${data.accountId as string}.${data.symbol as string}`;
    case 'account':
      return `accounts.${action}.${data.accountId as string}`;
  }
}

/** How long and how much each stream keeps (JetStream drops the oldest beyond either). */
export interface StreamLimits {
  eventsMaxAgeMs: number;
  eventsMaxBytes: number;
  deadLettersMaxAgeMs: number;
}

const DAY_MS = 24 * 60 * 60 * 1000;

/** The configuration's defaults (config/index.ts). */
export const DEFAULT_STREAM_LIMITS: StreamLimits = { eventsMaxAgeMs: 30 * DAY_MS, eventsMaxBytes: 1024 ** 3, deadLettersMaxAgeMs: 30 * DAY_MS };

export function streamLimitsOf(config: { EVENT_STREAM_MAX_AGE_DAYS: number; EVENT_STREAM_MAX_BYTES: number; DEAD_LETTERS_MAX_AGE_DAYS: number }): StreamLimits {
  return {
    eventsMaxAgeMs: Math.round(config.EVENT_STREAM_MAX_AGE_DAYS * DAY_MS),
    eventsMaxBytes: config.EVENT_STREAM_MAX_BYTES,
    deadLettersMaxAgeMs: Math.round(config.DEAD_LETTERS_MAX_AGE_DAYS * DAY_MS),
  };
}

/**
 * Every stream with explicit limits: max_age and max_bytes (events older or beyond
 * are dropped, oldest first), so a stream never grows without bound. A rebuild then
 * starts from a projection snapshot, not from the first event (subscribers/framework.ts).
 */
export function streamSpecs(t: Topology, limits: StreamLimits = DEFAULT_STREAM_LIMITS): StreamSpec[] {
  return Object.entries(STREAMS).map(([key, s]) => ({
    name: t.stream(s.name),
    subjects: s.subjects.map((subj) => t.subject(subj)),
    description: s.description,
    max_age: nanos(key === 'deadLetters' ? limits.deadLettersMaxAgeMs : limits.eventsMaxAgeMs),
    max_bytes: limits.eventsMaxBytes,
  }));
}
