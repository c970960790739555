/**
 * What every subscriber shares. A subscriber is a definition (name, what it
 * subscribes to, how it applies one event); this runner gives it:
 *
 * - durable JetStream pull consumers with explicit acks (one per subscription), so
 *   running more copies of the process spreads the work;
 * - validation of every event against the catalogue (schema drift is dead-lettered);
 * - exactly-once effect: the projection update, the processed-event record and the
 *   aggregate's position commit in one transaction, so a redelivery changes nothing;
 * - per-aggregate order: an event whose sequence is ahead of the next expected one
 *   (a gap, or an overtaking redelivery) is held back and applied when its turn
 *   comes, never silently. Held events are kept in the database
 *   (subscriber_held_events) and acknowledged, so however many are held they never
 *   fill the consumer's ack-pending budget and stop it for other aggregates; a
 *   background round applies those whose turn came, and an event held longer than
 *   `heldAlertMs` raises an ALERT log line;
 * - bounded retries with backoff: after `maxAttempts` failures the event goes to the
 *   dead-letter stream with its error and delivery count, the aggregate moves on, and
 *   the rest keep flowing; `npm run dead-letters` lists and redrives them. An event is
 *   dead-lettered only at its turn, and its aggregate's position always moves past it
 *   (also for an event that fails its schema, when its envelope names its aggregate),
 *   so a dead letter never freezes an aggregate;
 * - consume loops that keep running: when a consumer's messages end or fail (its
 *   durable consumer deleted, its stream recreated, an error), the loop declares the
 *   consumer again and restarts after a backoff, logged; a restarted consumer may
 *   deliver again what was already applied, which the exactly-once effect absorbs.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { AppConfig } from '../config';
import { AckPolicy, DeliverPolicy, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { z } from 'zod';
import { AGGREGATE_TYPES, EventSchemaError, parseEvent, type EventEnvelope, type EventType } from '../events/catalogue';
import { STREAMS, type StreamKey } from '../events/streams';
import { ensureConsumers, nanos, type ConsumerSpec, type Messaging, type Topology } from '../messaging/nats';
import type { Orm } from '../persistence/orm';
import { IsolationLevel } from '@mikro-orm/core';
import {
  countFailure,
  dueHeldEvents,
  forgetHeld,
  forgetSubscriber,
  heldSummary,
  holdEvent,
  isProcessed,
  latestSnapshot,
  listPositions,
  lockAllPositions,
  lockAggregatePosition,
  recordProcessed,
  restorePositions,
  saveSnapshot,
  skipPast,
  type AggregateOf,
  type SnapshotRecord,
} from '../persistence/subscriber-state/repository';
import type { Logger } from '../runtime/logger';
import { Pump } from '../runtime/pump';
import { backoffMs, sleep } from '../runtime/timing';

export interface Subscription {
  stream: StreamKey;
  /** Unprefixed filter within the stream, e.g. 'orders.filled.>' (default: the whole stream). */
  filterSubject?: string;
}

export interface SubscriberDefinition {
  /** Names the durable consumers and the subscriber's rows in processed_events. */
  name: string;
  subscriptions: Subscription[];
  /** Only these types reach handle(); others are recorded (for ordering) and skipped. */
  eventTypes?: readonly EventType[];
  /** Applies one event, inside the transaction that records it as processed. */
  handle(em: EntityManager, event: EventEnvelope, logger: Logger): Promise<void>;
  /** Empties the projection (for a rebuild), inside the rebuild's transaction. */
  reset?(em: EntityManager): Promise<void>;
  /** The projection's rows as JSON, for a snapshot (read in the snapshot's one-snapshot transaction). */
  snapshot?(em: EntityManager): Promise<unknown>;
  /** Writes a snapshot's rows back into the emptied projection (the rebuild's transaction). */
  restore?(em: EntityManager, state: unknown): Promise<void>;
  /** Background work the subscriber's process also runs (e.g. webhook delivery). */
  services?(deps: ServiceDeps): BackgroundService[];
  /** Failures before an event is dead-lettered (default 5). */
  maxAttempts?: number;
}

export interface ServiceDeps {
  config: AppConfig;
  orm: Orm;
  logger: Logger;
}

export interface BackgroundService {
  name: string;
  start(): void | Promise<void>;
  stop(): Promise<void>;
}

export type DeliveryOutcome = 'applied' | 'skipped' | 'duplicate' | 'held' | 'retry' | 'dead-lettered';

export interface DeadLetter {
  subscriber: string;
  error: string;
  deliveryCount: number;
  failedAt: string;
  subject: string;
  streamSequence: number | null;
  event: unknown;
}

/** How often held events are looked at (applied when their turn came, alerted when too old). */
const HELD_ROUND_MS = 1_000;
const HELD_ALERT_MS = 60_000;
const HELD_BATCH = 100;

/** What identifies an event's place in its aggregate: enough to keep order for one that fails its schema. */
const eventPlace = z.object({
  eventId: z.uuid(),
  eventType: z.string().min(1).max(200),
  aggregateType: z.enum(AGGREGATE_TYPES),
  aggregateId: z.string().min(1).max(200),
  sequence: z.number().int().positive(),
});
/** Restarts of a consumer loop back off from 250 ms, doubling to 10 s; a run that lasted a minute was healthy and resets it. */
const RESTART_FIRST_MS = 250;
const RESTART_MAX_MS = 10_000;
const HEALTHY_RUN_MS = 60_000;

export function consumerName(subscriber: string, stream: StreamKey | 'redrive'): string {
  return `${subscriber}-${stream}`;
}

/** The durable consumers a subscriber needs (its subscriptions, and its redrive queue). */
export function consumerSpecsFor(def: SubscriberDefinition, t: Topology, ackWaitMs = 30_000): ConsumerSpec[] {
  // max_deliver is unlimited at the JetStream level: held-back events are redelivered
  // as often as needed; failures are counted (and bounded) by the runner itself.
  const base = { ack_policy: AckPolicy.Explicit, deliver_policy: DeliverPolicy.All, ack_wait: nanos(ackWaitMs), max_deliver: -1, max_ack_pending: 256 };
  return [
    ...def.subscriptions.map((s) => ({
      ...base,
      stream: t.stream(STREAMS[s.stream].name),
      durable_name: consumerName(def.name, s.stream),
      filter_subject: t.subject(s.filterSubject ?? STREAMS[s.stream].subjects[0]),
    })),
    {
      ...base,
      stream: t.stream(STREAMS.deadLetters.name),
      durable_name: consumerName(def.name, 'redrive'),
      filter_subject: t.subject(`redrive.${def.name}.>`),
    },
  ];
}

export class Subscriber {
  private readonly maxAttempts: number;
  private readonly loops: Promise<void>[] = [];
  /** The messages each loop consumes now, closed by stop(). */
  private readonly current = new Set<ConsumerMessages>();
  private stopped = false;
  /** Aborted by stop(): wakes the loops waiting to restart. */
  private readonly stopping = new AbortController();

  constructor(
    readonly def: SubscriberDefinition,
    private readonly orm: Orm,
    private readonly messaging: Messaging,
    private readonly topology: Topology,
    private readonly logger: Logger,
    private readonly options: {
      ackWaitMs?: number;
      batch?: number;
      /**
       * How long a pull waits at the server (default: the client's, 30 s). A consumer
       * deleted while none of its pulls waits there is noticed only by missed heartbeats
       * (two of half this), so a shorter one notices it sooner (tests).
       */
      pullExpiresMs?: number;
      /** Called with every delivery's outcome (metrics, tests). */
      onOutcome?: (event: EventEnvelope, outcome: DeliveryOutcome) => void;
      /** How often held events are looked at (default 1 s). */
      heldRoundMs?: number;
      /** An event held longer than this raises an ALERT (default 60 s). */
      heldAlertMs?: number;
    } = {},
  ) {
    this.maxAttempts = def.maxAttempts ?? 5;
    this.held = new Pump(
      () => this.heldRound(),
      (err) => this.logger.error({ err, subscriber: def.name }, 'held events round failed; will try again'),
    );
  }

  /** Applies the held events whose turn came; alerts when one has waited too long. */
  private readonly held: Pump;
  private lastHeldAlert = 0;

  private async heldRound(): Promise<void> {
    for (let batch = await dueHeldEvents(this.orm.em.fork(), this.def.name, HELD_BATCH); batch.length > 0 && !this.stopped; ) {
      for (const raw of batch) await this.receive(raw, 'stream');
      // What was applied may have made later ones due; a batch that only retried stops here.
      const next = await dueHeldEvents(this.orm.em.fork(), this.def.name, HELD_BATCH);
      if (JSON.stringify(next) === JSON.stringify(batch)) break;
      batch = next;
    }
    const alertMs = this.options.heldAlertMs ?? HELD_ALERT_MS;
    const { held, oldestMs } = await heldSummary(this.orm.em.fork(), this.def.name);
    if (held > 0 && oldestMs >= alertMs && Date.now() - this.lastHeldAlert >= Math.max(alertMs, HELD_ROUND_MS)) {
      this.lastHeldAlert = Date.now();
      this.logger.error({ subscriber: this.def.name, held, oldestMs }, 'ALERT: events held back waiting for an earlier event of their aggregate');
    }
  }

  /** Declares the consumers (idempotent) and starts a supervised loop for each. */
  async start(): Promise<void> {
    const specs = consumerSpecsFor(this.def, this.topology, this.options.ackWaitMs);
    // Declared here, not only in the loops, so a subscriber that cannot start fails its process at once.
    await ensureConsumers(this.messaging.jsm, specs);
    for (const spec of specs) this.loops.push(this.supervise(spec));
    this.held.start(this.options.heldRoundMs ?? HELD_ROUND_MS);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping.abort();
    await this.held.stop();
    // close() stops the pulls at once, but settles only when its loop reads on: awaiting the loops covers it.
    for (const messages of this.current) void messages.close();
    await Promise.allSettled(this.loops);
  }

  /**
   * Runs one consumer until stop(). Its messages end or fail when the durable consumer
   * was deleted or its stream recreated (the client reports those as errors, see
   * consume()), or on any other trouble (a reconnect alone does not end them: the client
   * resumes its pulls itself); the loop then declares the consumer again and
   * restarts, backing off while it keeps failing. A re-created consumer starts from the
   * beginning of its stream: what was applied before is recognised as processed.
   */
  private async supervise(spec: ConsumerSpec): Promise<void> {
    const consumer = spec.durable_name as string;
    const redrive = consumer === consumerName(this.def.name, 'redrive');
    let failures = 0;
    for (let restart = false; !this.stopped; restart = true) {
      const startedAt = Date.now();
      let reason: string;
      try {
        if (restart) await ensureConsumers(this.messaging.jsm, [spec]);
        await this.consume(spec, redrive);
        reason = 'its messages ended';
      } catch (err) {
        reason = err instanceof Error ? err.message : String(err);
      }
      if (this.stopped) return;
      // The connection reconnects by itself; once closed it never reopens: nothing to restart on.
      if (this.messaging.nc.isClosed()) {
        this.logger.error({ subscriber: this.def.name, consumer, reason }, 'consumer loop ended: the NATS connection is closed');
        return;
      }
      if (Date.now() - startedAt >= HEALTHY_RUN_MS) failures = 0;
      const delayMs = backoffMs(++failures, RESTART_FIRST_MS, RESTART_MAX_MS);
      this.logger.warn({ subscriber: this.def.name, consumer, reason, restartInMs: delayMs }, 'consumer loop ended; restarting');
      // Cut short by stop(), and leaves no timer behind.
      await sleep(delayMs, this.stopping.signal);
    }
  }

  /** One run of a consumer loop: returns when its messages end (or stop()), throws when they fail. */
  private async consume(spec: ConsumerSpec, redrive: boolean): Promise<void> {
    const consumer = await this.messaging.js.consumers.get(spec.stream, spec.durable_name as string);
    const messages = await consumer.consume({
      // A small pull batch: a copy that stops leaves few messages waiting for their ack wait.
      max_messages: this.options.batch ?? 16,
      expires: this.options.pullExpiresMs,
      // Without it the client only reports a deleted consumer or stream and keeps pulling
      // from nothing; with it the messages fail, and supervise() declares the consumer again.
      abort_on_missing_resource: true,
    });
    this.current.add(messages);
    try {
      // stop() ran while this run was starting, and did not see these messages.
      if (!this.stopped) await this.loop(messages, redrive);
    } finally {
      this.current.delete(messages);
      void messages.close();
    }
  }

  private async loop(messages: ConsumerMessages, redrive: boolean): Promise<void> {
    for await (const m of messages) {
      try {
        await this.onMessage(m, redrive);
      } catch (err) {
        // Infrastructure trouble (database down...): try the message again later.
        this.logger.error({ err, subject: m.subject }, 'could not process message; will be redelivered');
        m.nak(5_000);
      }
      if (this.stopped) break;
    }
  }

  private async onMessage(m: JsMsg, redrive: boolean): Promise<void> {
    let raw: unknown;
    try {
      raw = m.json();
      if (redrive) raw = (raw as { event: unknown }).event;
    } catch (err) {
      await this.deadLetter(m, m.string(), `not JSON: ${(err as Error).message}`, m.info.deliveryCount);
      m.ack();
      return;
    }
    const { outcome, attempts } = await this.receive(raw, redrive ? 'redrive' : 'stream', m);
    // Backoff by this event's failures (JetStream's delivery count also counts redeliveries after a restart).
    if (outcome === 'retry') m.nak(backoffMs(attempts + 1, 500, 30_000));
    // Everything else is done with, as far as JetStream goes: a held event waits in the database.
    else m.ack();
  }

  /**
   * One event as received (from JetStream, or held and now due): validated, then
   * applied at its turn. An event that fails its schema is dead-lettered at once, at its
   * turn, its aggregate moving past it, when its envelope says where it belongs.
   */
  private async receive(raw: unknown, mode: 'stream' | 'redrive', m?: JsMsg): Promise<{ outcome: DeliveryOutcome; attempts: number }> {
    let event: EventEnvelope;
    try {
      event = parseEvent(raw);
    } catch (err) {
      if (!(err instanceof EventSchemaError)) throw err;
      // Schema drift cannot be fixed by retrying: dead-letter at once.
      const place = eventPlace.safeParse(raw);
      const deliveries = m?.info.deliveryCount ?? 1;
      if (!place.success || mode === 'redrive') {
        await this.deadLetter(m, raw, err.message, deliveries, raw as EventEnvelope);
        return { outcome: 'dead-lettered', attempts: 0 };
      }
      const outcome = await this.atTurn(place.data, raw, mode, async (em) => {
        await this.deadLetter(m, raw, err.message, deliveries, place.data);
        await skipPast(em, this.def.name, place.data);
        return 'dead-lettered';
      });
      return { outcome: outcome ?? 'retry', attempts: 0 };
    }
    const result = await this.apply(event, mode, m, raw);
    this.options.onOutcome?.(event, result.outcome);
    return result;
  }

  /** Applies one event exactly once in effect (see apply()). */
  async process(event: EventEnvelope, mode: 'stream' | 'redrive', m?: JsMsg): Promise<DeliveryOutcome> {
    return (await this.apply(event, mode, m, event)).outcome;
  }

  /**
   * Runs `work` on an event at its turn, in one transaction with the aggregate's
   * position locked: a processed event is a duplicate; in `stream` mode an event ahead
   * of its turn is held (kept in the database with `raw`), one whose turn passed
   * without it is a duplicate (it was dead-lettered; only a redrive applies it).
   * Null when a rebuild deleted the position meanwhile (try again shortly).
   */
  private async atTurn(
    event: AggregateOf,
    raw: unknown,
    mode: 'stream' | 'redrive',
    work: (em: EntityManager, position: number) => Promise<DeliveryOutcome>,
  ): Promise<DeliveryOutcome | null> {
    const name = this.def.name;
    return this.orm.em.fork().transactional(async (em) => {
      if (await isProcessed(em, name, event.eventId)) {
        await forgetHeld(em, name, event.eventId);
        return 'duplicate';
      }
      const position = await lockAggregatePosition(em, name, event);
      if (mode === 'stream') {
        if (event.sequence > position + 1) {
          this.logger.debug({ eventId: event.eventId, sequence: event.sequence, expected: position + 1 }, 'held back: an earlier event of its aggregate is missing');
          await holdEvent(em, name, event, raw);
          return 'held';
        }
        if (event.sequence <= position) {
          await forgetHeld(em, name, event.eventId);
          return 'duplicate';
        }
      }
      const outcome = await work(em, position);
      await forgetHeld(em, name, event.eventId);
      return outcome;
    });
  }

  /**
   * Applies one event exactly once in effect. `stream` mode enforces the aggregate's
   * order; `redrive` mode applies a dead-lettered event whose turn has passed.
   */
  private async apply(event: EventEnvelope, mode: 'stream' | 'redrive', m: JsMsg | undefined, raw: unknown): Promise<{ outcome: DeliveryOutcome; attempts: number }> {
    let outcome: DeliveryOutcome | null;
    try {
      outcome = await this.atTurn(event, raw, mode, async (em, position) => {
        const wanted = !this.def.eventTypes || this.def.eventTypes.includes(event.eventType as EventType);
        if (wanted) await this.def.handle(em, event, this.logger);
        // A first delivery has no failures on record (they are counted before a redelivery).
        await recordProcessed(em, this.def.name, event, position, !m || m.info.deliveryCount > 1);
        return wanted ? 'applied' : 'skipped';
      });
    } catch (err) {
      return this.failed(event, err, mode, m, raw);
    }
    // A rebuild deleted the position in between: a retry shortly finds it again.
    return outcome === null ? { outcome: 'retry', attempts: 0 } : { outcome, attempts: 0 };
  }

  private async failed(event: EventEnvelope, err: unknown, mode: 'stream' | 'redrive', m: JsMsg | undefined, raw: unknown): Promise<{ outcome: DeliveryOutcome; attempts: number }> {
    const error = String((err as Error)?.stack ?? err).slice(0, 4000);
    const attempts = await countFailure(this.orm.em.fork(), this.def.name, event.eventId, error);
    if (attempts < this.maxAttempts) {
      this.logger.warn({ eventId: event.eventId, eventType: event.eventType, attempt: attempts, err }, 'event failed; will retry');
      return { outcome: 'retry', attempts };
    }
    // Dead-lettered only at its turn, with the aggregate moved past it in the same
    // transaction, so its later events flow (one that failed before its turn is held).
    const outcome = await this.atTurn(event, raw, mode, async (em) => {
      await this.deadLetter(m, event, error, attempts, event);
      if (mode === 'stream') await skipPast(em, this.def.name, event);
      return 'dead-lettered';
    });
    return { outcome: outcome ?? 'retry', attempts };
  }

  private async deadLetter(m: JsMsg | undefined, raw: unknown, error: string, deliveryCount: number, event?: Pick<AggregateOf, 'eventId' | 'eventType'>): Promise<void> {
    const letter: DeadLetter = {
      subscriber: this.def.name,
      error,
      deliveryCount,
      failedAt: new Date().toISOString(),
      subject: m ? this.topology.unprefix(m.subject) : '',
      streamSequence: m ? m.info.streamSequence : null,
      event: raw,
    };
    const type = event?.eventType ?? 'unparseable';
    const id = event?.eventId ?? `${m?.info.stream}:${m?.info.streamSequence}`;
    await this.messaging.js.publish(this.topology.subject(`deadletters.${this.def.name}.${type}`), JSON.stringify(letter), {
      msgID: `deadletter:${this.def.name}:${id}:${deliveryCount}`,
    });
    this.logger.error({ eventId: event?.eventId, eventType: type, deliveryCount, error: error.split('\n')[0] }, 'ALERT: event dead-lettered');
  }

  /**
   * One event of a rebuild: retried as the live consumer would (it ends applied,
   * skipped or dead-lettered); an event that does not parse is skipped, as the live
   * consumer dead-lettered it, its aggregate moving past it as it did live. A gap
   * cannot heal during a replay from the start (the stream lost an event), so it stops
   * the rebuild rather than skipping silently.
   */
  private async replayOne(m: JsMsg): Promise<void> {
    let event: EventEnvelope;
    const raw: unknown = m.json();
    const gap = (what: string) => new Error(`rebuild of ${this.def.name} stopped: ${what} follows a missing event of its aggregate`);
    try {
      event = parseEvent(raw);
    } catch (err) {
      this.logger.warn({ err, subject: m.subject, seq: m.info.streamSequence }, 'rebuild skips an event that does not parse');
      const place = eventPlace.safeParse(raw);
      if (!place.success) return;
      const outcome = await this.atTurn(place.data, raw, 'stream', async (em) => {
        await skipPast(em, this.def.name, place.data);
        return 'skipped';
      });
      if (outcome === 'held') throw gap(`${place.data.eventType} ${place.data.eventId}`);
      return;
    }
    for (;;) {
      const { outcome, attempts } = await this.apply(event, 'stream', undefined, raw);
      if (outcome === 'held') throw gap(`${event.eventType} ${event.eventId}`);
      if (outcome !== 'retry') return;
      await sleep(backoffMs(attempts + 1, 100, 5_000));
    }
  }

  /**
   * Takes a snapshot of the projection: first, per subscribed stream, its durable
   * consumer's ack floor (every message up to it was acknowledged, so its effect had
   * committed); then, in one REPEATABLE READ transaction, the projection's rows and the
   * subscriber's positions. The snapshot therefore reflects at least every message up
   * to each floor; messages after it that it also reflects are recognised on replay by
   * the restored positions. Keeps the two latest.
   */
  async takeSnapshot(): Promise<{ id: string; streamSequences: Record<string, number> }> {
    const def = this.def;
    if (!def.snapshot) throw new Error(`${def.name} does not take snapshots`);
    const streamSequences: Record<string, number> = {};
    for (const s of def.subscriptions) {
      const info = await this.messaging.jsm.consumers.info(this.topology.stream(STREAMS[s.stream].name), consumerName(def.name, s.stream));
      streamSequences[s.stream] = info.ack_floor.stream_seq;
    }
    const id = await this.orm.em.fork().transactional(
      async (em) => {
        const state = await (def.snapshot as NonNullable<SubscriberDefinition['snapshot']>)(em);
        const positions = await listPositions(em, def.name);
        return saveSnapshot(em, def.name, { streamSequences, positions, state });
      },
      { isolationLevel: IsolationLevel.REPEATABLE_READ },
    );
    this.logger.info({ subscriber: def.name, snapshot: id, streamSequences }, 'projection snapshot taken');
    return { id, streamSequences };
  }

  /**
   * Rebuilds the projection: empties it and the subscriber's bookkeeping, puts back the
   * latest snapshot (unless `fromStart`, or there is none), then replays every
   * subscribed stream from the first message after the snapshot (or from its first
   * message). Streams keep events for a limited time (max_age, max_bytes), so a rebuild
   * from the start works only while they still hold every event; from a snapshot, while
   * they hold what followed it (else it refuses before emptying anything, naming the
   * gap). A live copy of the
   * subscriber may keep running: what it sees early is held back until the replay has
   * caught up, and then recognised as processed.
   */
  async rebuild(options: { fromStart?: boolean } = {}): Promise<{ replayed: number; snapshot: string | null }> {
    const name = this.def.name;
    const def = this.def;
    const snapshot: SnapshotRecord | null = options.fromStart || !def.restore ? null : await latestSnapshot(this.orm.em.fork(), name);
    // Before anything is emptied: every stream must still hold what the replay needs.
    for (const s of def.subscriptions) {
      const stream = this.topology.stream(STREAMS[s.stream].name);
      const after = snapshot?.streamSequences[s.stream] ?? 0;
      const { state } = await this.messaging.jsm.streams.info(stream);
      if (state.first_seq > after + 1) {
        throw new Error(
          `rebuild of ${name} refused: stream ${stream} now starts at ${state.first_seq}, but the replay needs it from ${after + 1} ` +
            `(${snapshot ? `snapshot ${snapshot.id}` : 'no snapshot'}); the messages in between are gone (max_age / max_bytes)`,
        );
      }
    }
    await this.orm.em.fork().transactional(async (em) => {
      // Lock order: a live copy locks its aggregate's position row, then writes the
      // projection; so does this, first taking every position row of the subscriber
      // (a live copy mid-event finishes first), so the two can never deadlock.
      await lockAllPositions(em, name);
      await def.reset?.(em);
      await forgetSubscriber(em, name);
      if (snapshot) {
        await (def.restore as NonNullable<SubscriberDefinition['restore']>)(em, snapshot.state);
        await restorePositions(em, name, snapshot.positions);
      }
    });
    let replayed = 0;
    for (const s of def.subscriptions) {
      const stream = this.topology.stream(STREAMS[s.stream].name);
      const after = snapshot?.streamSequences[s.stream] ?? 0;
      const consumer = await this.messaging.js.consumers.get(stream, {
        // A string (not an array): one filter subject, which NATS 2.9 supports.
        filter_subjects: this.topology.subject(s.filterSubject ?? STREAMS[s.stream].subjects[0]),
        ...(after > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: after + 1 } : { deliver_policy: DeliverPolicy.All }),
      });
      // Replays what the stream holds now; events published meanwhile reach the live consumer.
      if ((await consumer.info()).num_pending === 0) continue;
      const messages = await consumer.consume();
      try {
        for await (const m of messages) {
          await this.replayOne(m);
          replayed++;
          if (m.info.pending === 0) break;
        }
      } finally {
        await messages.close();
      }
    }
    return { replayed, snapshot: snapshot?.id ?? null };
  }
}
