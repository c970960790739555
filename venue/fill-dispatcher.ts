/**
 * Brings the venue's fills to their order workflows, as `applyFill` updates.
 *
 * A tick's fills are committed with delivery PENDING in the same transaction as the
 * match; this dispatcher claims pending fills (FOR UPDATE SKIP LOCKED with a lease,
 * so several dispatchers can run side by side), delivers them in trade order per
 * order, and marks each DELIVERED once the workflow answered, or REFUSED when the
 * workflow refused it (an over-fill: logged as an error for the operator). Failures
 * to reach Temporal are retried with exponential backoff; no fill is ever dropped.
 * The update id is derived from the trade id, so a re-delivery is deduplicated by
 * Temporal as well as by the workflow.
 */
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { str } from '../domain/decimal';
import type { Orm } from '../persistence/orm';
import type { Logger } from '../runtime/logger';
import { forEachConcurrently, Pump } from '../runtime/pump';
import { applyFillUpdate, orderWorkflowId, type ApplyFillResult } from '../workflows/order/definitions';

interface PendingFill {
  trade_id: string;
  order_id: string;
  quantity: string;
  price: string;
  executed_at: Date | string;
  seq: string;
  delivery_attempts: number;
  correlation_id: string | null;
}

export interface FillDispatcherOptions {
  intervalMs: number;
  batchSize?: number;
  /** Orders delivered to in parallel (fills of one order always go in sequence). */
  concurrency?: number;
  /** How long a claim lasts before another dispatcher may take the fill over. */
  leaseSeconds?: number;
  /** How long one delivery may wait for the order's worker before it is retried later. */
  deliveryTimeoutMs?: number;
}

export class FillDispatcher {
  private readonly pump: Pump;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly leaseSeconds: number;

  constructor(
    private readonly orm: Orm,
    private readonly client: Client,
    private readonly logger: Logger,
    private readonly options: FillDispatcherOptions,
  ) {
    this.batchSize = options.batchSize ?? 200;
    this.concurrency = options.concurrency ?? 8;
    this.leaseSeconds = options.leaseSeconds ?? 60;
    this.pump = new Pump(
      () => this.drain(),
      (err) => this.logger.error({ err }, 'fill delivery round failed'),
    );
  }

  start(): void {
    this.pump.start(this.options.intervalMs);
  }

  /** Asks for a delivery round soon (coalesces with one already running). */
  kick(): void {
    this.pump.kick();
  }

  /** Delivers until nothing due is left. Resolves when done (tests await it). */
  async drain(): Promise<void> {
    while (!this.pump.isStopped && (await this.deliverBatch()) === this.batchSize);
  }

  async stop(): Promise<void> {
    await this.pump.stop();
  }

  private async deliverBatch(): Promise<number> {
    const claimed = await this.orm.em.fork().execute<PendingFill[]>(
      `update venue_fills set next_attempt_at = now() + make_interval(secs => ?), delivery_attempts = delivery_attempts + 1
       where trade_id in (
         select trade_id from venue_fills where delivery = 'PENDING' and next_attempt_at <= now()
         order by seq limit ? for update skip locked)
       returning trade_id, order_id, quantity, price, executed_at, seq, delivery_attempts, correlation_id`,
      [this.leaseSeconds, this.batchSize],
    );
    const byOrder = new Map<string, PendingFill[]>();
    for (const f of claimed.sort((a, b) => Number(BigInt(a.seq) - BigInt(b.seq)))) {
      byOrder.set(f.order_id, [...(byOrder.get(f.order_id) ?? []), f]);
    }
    await forEachConcurrently([...byOrder.values()], this.concurrency, async (fills) => {
      for (const fill of fills) await this.deliver(fill);
    });
    return claimed.length;
  }

  private async deliver(fill: PendingFill): Promise<void> {
    const report = {
      tradeId: fill.trade_id,
      quantity: str(fill.quantity),
      price: str(fill.price),
      executedAt: new Date(fill.executed_at).toISOString(),
      correlationId: fill.correlation_id,
    };
    try {
      const handle = this.client.workflow.getHandle(orderWorkflowId(fill.order_id));
      const result: ApplyFillResult = await this.client.withDeadline(Date.now() + (this.options.deliveryTimeoutMs ?? 10_000), () =>
        handle.executeUpdate(applyFillUpdate, { args: [report], updateId: `fill-${fill.trade_id}` }),
      );
      if (result.outcome === 'REFUSED') await this.refused(fill, result.reason ?? 'refused by the order');
      else await this.mark(fill, 'DELIVERED', null);
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        // The order's workflow has closed: it applied the fill (from the venue's cancel
        // answer) or it can never apply it.
        const [applied] = await this.orm.em.fork().execute<unknown[]>('select 1 from order_fills where trade_id = ?', [fill.trade_id]);
        if (applied) await this.mark(fill, 'DELIVERED', null);
        else await this.refused(fill, 'order workflow is closed');
        return;
      }
      const backoffSeconds = Math.min(300, 2 ** Math.min(fill.delivery_attempts, 8));
      this.logger.warn({ err, tradeId: fill.trade_id, orderId: fill.order_id, attempt: fill.delivery_attempts }, 'fill delivery failed; will retry');
      await this.orm.em
        .fork()
        .execute(`update venue_fills set last_error = ?, next_attempt_at = now() + make_interval(secs => ?) where trade_id = ?`, [
          String((err as Error).message ?? err).slice(0, 2000),
          backoffSeconds,
          fill.trade_id,
        ]);
    }
  }

  private async refused(fill: PendingFill, reason: string): Promise<void> {
    this.logger.error({ tradeId: fill.trade_id, orderId: fill.order_id, quantity: str(fill.quantity), reason }, 'ALERT: fill refused by its order');
    await this.mark(fill, 'REFUSED', reason);
  }

  private async mark(fill: PendingFill, delivery: 'DELIVERED' | 'REFUSED', error: string | null): Promise<void> {
    await this.orm.em
      .fork()
      .execute(`update venue_fills set delivery = ?, last_error = ?, delivered_at = now() where trade_id = ?`, [delivery, error, fill.trade_id]);
  }
}
