/**
 * The outbox relay: publishes committed events to JetStream, in order per aggregate,
 * and marks a row published only after JetStream acknowledged it.
 *
 * - Wakes on LISTEN/NOTIFY (the outbox writer notifies at commit), and polls as the
 *   fallback (a missed notification, or a lost LISTEN connection).
 * - Claims rows with FOR UPDATE SKIP LOCKED, so several relays run side by side. A
 *   row is published only when no earlier unpublished event of its aggregate is held
 *   by another relay, so each aggregate's events enter the stream in order.
 * - Nats-Msg-Id is the eventId: a relay killed between publish and mark (its
 *   transaction rolls back) republishes the same ids, which JetStream's duplicate
 *   window drops; consumers dedupe by eventId as well. Nothing is lost, nothing is
 *   duplicated in effect.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import type { EntityManager } from '@mikro-orm/postgresql';
import { Client as PgClient } from 'pg';
import type { Topology } from '../messaging/nats';
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
  private listener: PgClient | null = null;
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
  }

  async start(): Promise<void> {
    await this.listen();
    this.pump.start(this.options.pollIntervalMs ?? 1_000);
  }

  /** LISTEN for new outbox rows; on a lost connection, polling carries on and we listen again. */
  private async listen(): Promise<void> {
    if (this.pump.isStopped) return;
    const client = new PgClient({ connectionString: this.options.databaseUrl });
    client.on('notification', () => this.kick());
    client.on('error', (err) => {
      this.logger.warn({ err }, 'outbox LISTEN connection lost; polling until it is back');
      this.listener = null;
      client.end().catch(() => undefined);
      setTimeout(() => void this.listen().catch(() => undefined), 2_000).unref();
    });
    try {
      await client.connect();
      await client.query(`listen ${OUTBOX_CHANNEL}`);
      this.listener = client;
    } catch (err) {
      this.logger.warn({ err }, 'could not LISTEN for outbox rows; polling, and trying again');
      await client.end().catch(() => undefined);
      setTimeout(() => void this.listen().catch(() => undefined), 2_000).unref();
    }
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
    await this.listener?.end().catch(() => undefined);
  }

  /** One round: claim, publish in order per aggregate, mark what JetStream acknowledged. */
  async publishBatch(hooks: BatchHooks = {}): Promise<BatchResult> {
    return this.orm.em.fork().transactional(async (em) => {
      const rows = await em.execute<OutboxRow[]>(
        `select id, event_id, subject, aggregate_type, aggregate_id, envelope from outbox
         where published_at is null order by id limit ? for update skip locked`,
        [this.batchSize],
      );
      if (rows.length === 0) return { claimed: 0, published: 0, failed: 0 };

      const groups = await this.readyGroups(em, rows);
      const published: string[] = [];
      const failures: { id: string; error: string }[] = [];
      await Promise.all(
        groups.map(async (group) => {
          for (const row of group) {
            try {
              const ack = await this.js.publish(this.topology.subject(row.subject), JSON.stringify(row.envelope), {
                msgID: row.event_id,
                timeout: this.options.publishTimeoutMs ?? 5_000,
              });
              if (ack.duplicate) this.logger.debug({ eventId: row.event_id }, 'already in the stream (duplicate window)');
              published.push(row.id);
            } catch (err) {
              // Stop this aggregate here: its later events must not overtake this one.
              failures.push({ id: row.id, error: String((err as Error).message ?? err) });
              return;
            }
          }
        }),
      );

      await hooks.beforeMark?.(published);
      if (published.length > 0) {
        await em.execute(`update outbox set published_at = now() where id in (${published.map(() => '?').join(', ')})`, published);
      }
      for (const f of failures) {
        await em.execute('update outbox set publish_attempts = publish_attempts + 1, last_error = ? where id = ?', [f.error.slice(0, 2000), f.id]);
        this.logger.warn({ outboxId: f.id, error: f.error }, 'publish failed; will retry');
      }
      return { claimed: rows.length, published: published.length, failed: failures.length };
    });
  }

  /**
   * The claimed rows grouped per aggregate (in id order), leaving out every aggregate
   * that has an earlier unpublished event this relay did not claim (another relay
   * holds it): those rows go back for a later round.
   */
  private async readyGroups(em: EntityManager, rows: OutboxRow[]): Promise<OutboxRow[][]> {
    const groups = new Map<string, OutboxRow[]>();
    for (const r of rows) {
      const key = `${r.aggregate_type}|${r.aggregate_id}`;
      groups.set(key, [...(groups.get(key) ?? []), r]);
    }
    const firsts = [...groups.values()].map((g) => g[0]);
    const blocked = await em.execute<{ aggregate_type: string; aggregate_id: string }[]>(
      `select distinct o.aggregate_type, o.aggregate_id
       from outbox o join (values ${firsts.map(() => '(?, ?, ?::bigint)').join(', ')}) as b(aggregate_type, aggregate_id, first_id)
         on o.aggregate_type = b.aggregate_type and o.aggregate_id = b.aggregate_id
       where o.published_at is null and o.id < b.first_id`,
      firsts.flatMap((r) => [r.aggregate_type, r.aggregate_id, r.id]),
    );
    for (const b of blocked) groups.delete(`${b.aggregate_type}|${b.aggregate_id}`);
    return [...groups.values()];
  }
}
