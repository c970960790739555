/**
 * The JetStream topology, declared in code and applied idempotently at start:
 * one stream per domain (orders, funds, trades) plus the dead letters, all on file
 * storage with a duplicate window (Nats-Msg-Id = eventId), and the durable
 * consumers of the subscribers.
 */
import type { StreamSpec } from '../messaging/nats';
import { Topology } from '../messaging/nats';

export const STREAMS = {
  orders: { name: 'ORDERS', subjects: ['orders.>'], description: 'Order lifecycle events' },
  funds: { name: 'FUNDS', subjects: ['funds.>'], description: 'Funds movements: deposits, withdrawals, locks, releases' },
  trades: { name: 'TRADES', subjects: ['trades.>'], description: 'Executions, one per fill' },
  accounts: { name: 'ACCOUNTS', subjects: ['accounts.>'], description: 'Account lifecycle' },
  deadLetters: {
    name: 'DEAD_LETTERS',
    subjects: ['deadletters.>', 'redrive.>'],
    description: 'Events a subscriber could not process (deadletters.<subscriber>.>), and their redrives (redrive.<subscriber>.>)',
  },
} as const;

export type StreamKey = keyof typeof STREAMS;

/** The stream that holds each aggregate's events. */
export const STREAM_OF_AGGREGATE = { order: 'orders', funds: 'funds', trades: 'trades', account: 'accounts' } as const satisfies Record<
  string,
  StreamKey
>;


export function streamSpecs(t: Topology): StreamSpec[] {
  return Object.values(STREAMS).map((s) => ({
    name: t.stream(s.name),
    subjects: s.subjects.map((subj) => t.subject(subj)),
    description: s.description,
  }));
}

export function topologyFor(prefix: string): Topology {
  return new Topology(prefix);
}
