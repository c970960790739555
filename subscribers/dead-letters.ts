/**
 * Dead letters: events a subscriber gave up on, kept in the DEAD_LETTERS stream
 * (`deadletters.<subscriber>.<eventType>`) with the error and the delivery count.
 *
 * Redriving one (after the fix is deployed) publishes its event to
 * `redrive.<subscriber>.<eventType>`, which that subscriber consumes on its own
 * durable consumer and applies through the same idempotent path (an event already
 * applied is not applied twice); then the dead letter is removed. If it fails again
 * it comes back as a new dead letter.
 */
import { DeliverPolicy } from '@nats-io/jetstream';
import { STREAMS } from '../events/streams';
import type { Messaging, Topology } from '../messaging/nats';
import type { Orm } from '../persistence/orm';
import { forgetFailure } from '../persistence/subscriber-state/repository';
import type { DeadLetter } from './framework';

export interface ListedDeadLetter {
  /** Stream sequence: what `redrive` takes. */
  seq: number;
  subscriber: string;
  eventType: string;
  eventId: string | null;
  error: string;
  deliveryCount: number;
  failedAt: string;
  subject: string;
  letter: DeadLetter;
}

function eventOf(letter: DeadLetter): { eventId?: string; eventType?: string } {
  return (letter.event && typeof letter.event === 'object' ? letter.event : {}) as { eventId?: string; eventType?: string };
}

export async function listDeadLetters(m: Messaging, t: Topology, subscriber?: string): Promise<ListedDeadLetter[]> {
  const stream = t.stream(STREAMS.deadLetters.name);
  const consumer = await m.js.consumers.get(stream, {
    filter_subjects: t.subject(subscriber ? `deadletters.${subscriber}.>` : 'deadletters.>'),
    deliver_policy: DeliverPolicy.All,
  });
  if ((await consumer.info()).num_pending === 0) return [];
  const out: ListedDeadLetter[] = [];
  const messages = await consumer.consume();
  for await (const msg of messages) {
    const letter = msg.json<DeadLetter>();
    const ev = eventOf(letter);
    out.push({
      seq: msg.info.streamSequence,
      subscriber: letter.subscriber,
      eventType: ev.eventType ?? 'unparseable',
      eventId: ev.eventId ?? null,
      error: letter.error,
      deliveryCount: letter.deliveryCount,
      failedAt: letter.failedAt,
      subject: letter.subject,
      letter,
    });
    if (msg.info.pending === 0) break;
  }
  await messages.close();
  return out;
}

/** Redrives dead letters (by stream sequence, or all of a subscriber's). Returns how many. */
export async function redriveDeadLetters(m: Messaging, t: Topology, orm: Orm, which: { seqs?: number[]; subscriber?: string }): Promise<number> {
  const stream = t.stream(STREAMS.deadLetters.name);
  const letters = (await listDeadLetters(m, t, which.subscriber)).filter((l) => !which.seqs || which.seqs.includes(l.seq));
  for (const l of letters) {
    await m.js.publish(t.subject(`redrive.${l.subscriber}.${l.eventType}`), JSON.stringify({ event: l.letter.event, deadLetterSeq: l.seq }), {
      msgID: `redrive:${stream}:${l.seq}`,
    });
    // A fresh start for its failure count, so it gets its full retries again.
    if (l.eventId) {
      await forgetFailure(orm.em.fork(), l.subscriber, l.eventId);
    }
    await m.jsm.streams.deleteMessage(stream, l.seq);
  }
  return letters.length;
}
