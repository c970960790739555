/**
 * The outbox relay: publishes committed events to JetStream, in order per aggregate,
 * and marks a row published only after JetStream acknowledged it.
 *
 * - Wakes on LISTEN/NOTIFY (the outbox writer notifies at commit), and polls as the
 *   fallback (a missed notification, or a lost LISTEN connection).
 * - Claims rows with FOR UPDATE SKIP LOCKED, so several relays run side by side.
 * - Order per aggregate holds by construction: a relay publishes an aggregate's rows
 *   only while it holds that aggregate's transaction-scoped advisory lock, and only the
 *   rows that continue the aggregate's publish cursor (`outbox_cursors`: the highest
 *   sequence on the stream) without a gap, one after another; the cursor moves in the
 *   same transaction that marks the rows. A row whose predecessor is not on the stream
 *   yet (held by another relay, failed, or not claimed) is left for a later round. Two
 *   relays can therefore never publish one aggregate at the same time, and sequence
 *   n + 1 reaches the stream only after n was acknowledged.
 * - Nats-Msg-Id is the eventId: a relay killed between publish and mark (its
 *   transaction rolls back, the cursor with it) republishes the same ids, which
 *   JetStream's duplicate window drops; consumers dedupe by eventId as well. Nothing
 *   is lost, nothing is duplicated in effect.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Topology } from '../messaging/nats';
import { PgListener } from '../persistence/listen';
import type { Orm } from '../persistence/orm';
import {
  claimUnpublished,
  lockAggregates,
  markPublished,
  OUTBOX_CHANNEL,
  publishCursors,
  recordPublishFailure,
  type AggregateKey,
} from '../persistence/outbox/repository';
import type { OutboxEvent } from '../persistence/outbox/entities';
import type { Logger } from '../runtime/logger';
import { Pump } from '../runtime/pump';

/** Failed publishes after which a row is set aside unless configured otherwise. */
export const DEFAULT_MAX_PUBLISH_ATTEMPTS = 20;

export interface RelayOptions {
  databaseUrl: string;
  batchSize?: number;
  pollIntervalMs?: number;
  publishTimeoutMs?: number;
  /** Failed publishes after which a row is set aside (OUTBOX_MAX_PUBLISH_ATTEMPTS). */
  maxPublishAttempts?: number;
}

export interface BatchHooks {
  /** Runs after publishing and before marking (tests use it to kill the relay there). */
  beforeMark?: (published: string[]) => Promise<void> | void;
}

export interface BatchResult {
  claimed: number;
  published: number;
  failed: number;
}

export class OutboxRelay {
  private readonly listener: PgListener;
  private readonly pump: Pump;
  private readonly batchSize: number;

  constructor(
    private readonly orm: Orm,
    private readonly js: JetStreamClient,
    private readonly topology: Topology,
    private readonly logger: Logger,
    private readonly options: RelayOptions,
  ) {
    this.batchSize = options.batchSize ?? 200;
    this.pump = new Pump(
      () => this.drain(),
      (err) => this.logger.error({ err }, 'outbox relay round failed'),
    );
    this.listener = new PgListener(options.databaseUrl, OUTBOX_CHANNEL, () => this.kick(), logger);
  }

  async start(): Promise<void> {
    await this.listener.start();
    this.pump.start(this.options.pollIntervalMs ?? 1_000);
  }

  kick(): void {
    this.pump.kick();
  }

  /** Publishes until the outbox holds nothing this relay can take. */
  async drain(): Promise<void> {
    for (;;) {
      if (this.pump.isStopped) return;
      const r = await this.publishBatch();
      if (r.claimed < this.batchSize || r.published === 0) return;
    }
  }

  async stop(): Promise<void> {
    await this.pump.stop();
    await this.listener.stop();
  }

  /** One round: claim, publish in order per aggregate, mark what JetStream acknowledged. */
  async publishBatch(hooks: BatchHooks = {}): Promise<BatchResult> {
    return this.orm.em.fork().transactional(async (em) => {
      const rows = await claimUnpublished(em, this.batchSize);
      if (rows.length === 0) return { claimed: 0, published: 0, failed: 0 };

      const groups = await this.readyGroups(em, rows);
      const published: string[] = [];
      const cursors: (AggregateKey & { sequence: number })[] = [];
      const failures: { id: string; error: string }[] = [];
      await Promise.all(
        groups.map(async ({ aggregateType, aggregateId, rows: group }) => {
          let last: number | null = null;
          for (const row of group) {
            try {
              const ack = await this.js.publish(this.topology.subject(row.subject), JSON.stringify(row.envelope), {
                msgID: row.eventId,
                timeout: this.options.publishTimeoutMs ?? 5_000,
              });
              if (ack.duplicate) this.logger.debug({ eventId: row.eventId }, 'already in the stream (duplicate window)');
              published.push(row.id);
              last = row.sequence;
            } catch (err) {
              // Stop this aggregate here: its later events must not overtake this one.
              failures.push({ id: row.id, error: String((err as Error).message ?? err) });
              break;
            }
          }
          if (last !== null) cursors.push({ aggregateType, aggregateId, sequence: last });
        }),
      );

      await hooks.beforeMark?.(published);
      await markPublished(em, published, cursors);
      for (const f of failures) {
        if (await recordPublishFailure(em, f.id, f.error, this.options.maxPublishAttempts ?? DEFAULT_MAX_PUBLISH_ATTEMPTS)) {
          this.logger.error({ outboxId: f.id, error: f.error }, 'ALERT: outbox event set aside after repeated publish failures; its aggregate waits (npm run outbox)');
        } else {
          this.logger.warn({ outboxId: f.id, error: f.error }, 'publish failed; will retry');
        }
      }
      return { claimed: rows.length, published: published.length, failed: failures.length };
    });
  }

  /**
   * The claimed rows that may be published now, per aggregate: for each aggregate whose
   * advisory lock this transaction gets (another relay holding it is skipped, never
   * waited for), the run of claimed rows that continues its publish cursor without a
   * gap, in sequence order. Everything else goes back for a later round.
   */
  private async readyGroups(em: EntityManager, rows: OutboxEvent[]): Promise<AggregateRun[]> {
    const byAggregate = new Map<string, OutboxEvent[]>();
    for (const r of rows) {
      const key = aggregateKey(r);
      byAggregate.set(key, [...(byAggregate.get(key) ?? []), r]);
    }
    // Lock first, then read the cursors in a later statement: its snapshot then sees
    // whatever the lock's previous holder committed.
    const locked = await lockAggregates(em, [...byAggregate.values()].map((g) => g[0]));
    const cursor = new Map((await publishCursors(em, locked)).map((c) => [aggregateKey(c), c.publishedSequence]));
    const runs: AggregateRun[] = [];
    for (const aggregate of locked) {
      const key = aggregateKey(aggregate);
      const claimed = [...(byAggregate.get(key) ?? [])].sort((a, b) => a.sequence - b.sequence);
      let next = (cursor.get(key) ?? 0) + 1;
      const run: OutboxEvent[] = [];
      for (const row of claimed) {
        if (row.sequence !== next) break;
        run.push(row);
        next++;
      }
      if (run.length > 0) runs.push({ aggregateType: aggregate.aggregateType, aggregateId: aggregate.aggregateId, rows: run });
    }
    return runs;
  }
}

interface AggregateRun extends AggregateKey {
  rows: OutboxEvent[];
}

function aggregateKey(a: AggregateKey): string {
  return `${a.aggregateType}|${a.aggregateId}`;
}
