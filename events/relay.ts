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
import type { Logger } from '../runtime/logger';
import { Pump } from '../runtime/pump';
import { OUTBOX_CHANNEL } from './outbox';

interface OutboxRow {
  id: string;
  event_id: string;
  subject: string;
  aggregate_type: string;
  aggregate_id: string;
  sequence: number;
  envelope: unknown;
}

export interface RelayOptions {
  databaseUrl: string;
  batchSize?: number;
  pollIntervalMs?: number;
  publishTimeoutMs?: number;
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
      const rows = await em.execute<OutboxRow[]>(
        `select id, event_id, subject, aggregate_type, aggregate_id, sequence, envelope from outbox
         where published_at is null order by id limit ? for update skip locked`,
        [this.batchSize],
      );
      if (rows.length === 0) return { claimed: 0, published: 0, failed: 0 };

      const groups = await this.readyGroups(em, rows);
      const published: string[] = [];
      const cursors: { aggregateType: string; aggregateId: string; sequence: number }[] = [];
      const failures: { id: string; error: string }[] = [];
      await Promise.all(
        groups.map(async ({ aggregateType, aggregateId, rows: group }) => {
          let last: number | null = null;
          for (const row of group) {
            try {
              const ack = await this.js.publish(this.topology.subject(row.subject), JSON.stringify(row.envelope), {
                msgID: row.event_id,
                timeout: this.options.publishTimeoutMs ?? 5_000,
              });
              if (ack.duplicate) this.logger.debug({ eventId: row.event_id }, 'already in the stream (duplicate window)');
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
      if (published.length > 0) {
        await em.execute('update outbox set published_at = now() where id in (select jsonb_array_elements_text(?::jsonb)::bigint)', [
          JSON.stringify(published),
        ]);
        await em.execute(
          `insert into outbox_cursors (aggregate_type, aggregate_id, published_sequence)
           select "aggregateType", "aggregateId", sequence
           from jsonb_to_recordset(?::jsonb) as c("aggregateType" text, "aggregateId" text, sequence integer)
           on conflict (aggregate_type, aggregate_id)
           do update set published_sequence = excluded.published_sequence, updated_at = now()`,
          [JSON.stringify(cursors)],
        );
      }
      for (const f of failures) {
        await em.execute('update outbox set publish_attempts = publish_attempts + 1, last_error = ? where id = ?', [f.error.slice(0, 2000), f.id]);
        this.logger.warn({ outboxId: f.id, error: f.error }, 'publish failed; will retry');
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
  private async readyGroups(em: EntityManager, rows: OutboxRow[]): Promise<AggregateRun[]> {
    const byAggregate = new Map<string, OutboxRow[]>();
    for (const r of rows) {
      const key = aggregateKey(r.aggregate_type, r.aggregate_id);
      byAggregate.set(key, [...(byAggregate.get(key) ?? []), r]);
    }
    const keys = JSON.stringify([...byAggregate.values()].map((g) => ({ aggregate_type: g[0].aggregate_type, aggregate_id: g[0].aggregate_id })));
    // Lock first, then read the cursors in a later statement: its snapshot then sees
    // whatever the lock's previous holder committed.
    const locked = await em.execute<{ aggregate_type: string; aggregate_id: string }[]>(
      `select k.aggregate_type, k.aggregate_id from jsonb_to_recordset(?::jsonb) as k(aggregate_type text, aggregate_id text)
       where pg_try_advisory_xact_lock(${RELAY_LOCK_SPACE}, hashtext(k.aggregate_type || '/' || k.aggregate_id))`,
      [keys],
    );
    if (locked.length === 0) return [];
    const cursorRows = await em.execute<{ aggregate_type: string; aggregate_id: string; published_sequence: number }[]>(
      `select c.aggregate_type, c.aggregate_id, c.published_sequence
       from outbox_cursors c join jsonb_to_recordset(?::jsonb) as k(aggregate_type text, aggregate_id text) using (aggregate_type, aggregate_id)`,
      [JSON.stringify(locked)],
    );
    const cursor = new Map(cursorRows.map((c) => [aggregateKey(c.aggregate_type, c.aggregate_id), c.published_sequence]));
    const runs: AggregateRun[] = [];
    for (const { aggregate_type, aggregate_id } of locked) {
      const key = aggregateKey(aggregate_type, aggregate_id);
      const claimed = [...(byAggregate.get(key) ?? [])].sort((a, b) => a.sequence - b.sequence);
      let next = (cursor.get(key) ?? 0) + 1;
      const run: OutboxRow[] = [];
      for (const row of claimed) {
        if (row.sequence !== next) break;
        run.push(row);
        next++;
      }
      if (run.length > 0) runs.push({ aggregateType: aggregate_type, aggregateId: aggregate_id, rows: run });
    }
    return runs;
  }
}

/** Advisory-lock key space of the relay (the first of pg_try_advisory_xact_lock's two keys). */
const RELAY_LOCK_SPACE = 74_221_002;

interface AggregateRun {
  aggregateType: string;
  aggregateId: string;
  rows: OutboxRow[];
}

function aggregateKey(type: string, id: string): string {
  return `${type}|${id}`;
}
