/**
 * Brings the venue's fills to their order workflows, as `applyFill` updates.
 *
 * A tick's fills are committed with delivery PENDING in the same transaction as the
 * match. This dispatcher leases whole venue orders that have due fills (FOR UPDATE
 * SKIP LOCKED, then a lease time on the order row, so several dispatchers run side by
 * side), and the lease holder alone delivers that order's pending fills, one after
 * another in trade order, marking each DELIVERED once the workflow answered, or
 * REFUSED when the workflow refused it (an over-fill: logged as an error for the
 * operator). A failed delivery stops the order there: that fill and every later one
 * of the order wait for the same backoff, so no later fill overtakes an earlier one
 * (trade order holds by construction, across dispatchers and retries). Failures to
 * reach Temporal are retried with exponential backoff; no fill is ever dropped.
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
  /** Its next attempt is due now (not waiting for a backoff). */
  due: boolean;
}

export interface FillDispatcherOptions {
  intervalMs: number;
  batchSize?: number;
  /** Orders delivered to in parallel (fills of one order always go in sequence). */
  concurrency?: number;
  /** How long an order's lease lasts before another dispatcher may take its fills over. */
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

  /** Leases up to batchSize orders with due fills and delivers each one's fills in order. */
  private async deliverBatch(): Promise<number> {
    const leased = await this.orm.em.fork().execute<{ order_id: string }[]>(
      `update venue_orders set fill_lease_until = now() + make_interval(secs => ?)
       where order_id in (
         select o.order_id from venue_orders o
         where o.order_id in (select f.order_id from venue_fills f where f.delivery = 'PENDING' and f.next_attempt_at <= now())
           and (o.fill_lease_until is null or o.fill_lease_until <= now())
         limit ? for update of o skip locked)
       returning order_id`,
      [this.leaseSeconds, this.batchSize],
    );
    await forEachConcurrently(leased, this.concurrency, (o) => this.deliverOrder(o.order_id));
    return leased.length;
  }

  /** Delivers one leased order's pending fills in trade order, stopping at the first that fails. */
  private async deliverOrder(orderId: string): Promise<void> {
    const deliveryTimeoutMs = this.options.deliveryTimeoutMs ?? 10_000;
    // Stop early enough that the lease cannot run out during a delivery.
    const leaseEnds = Date.now() + this.leaseSeconds * 1_000 - deliveryTimeoutMs - 1_000;
    try {
      const fills = await this.orm.em.fork().execute<PendingFill[]>(
        `select trade_id, order_id, quantity, price, executed_at, seq, delivery_attempts, correlation_id, next_attempt_at <= now() as due
         from venue_fills where order_id = ? and delivery = 'PENDING' order by seq`,
        [orderId],
      );
      for (const fill of fills) {
        // An earlier fill still waiting for its backoff keeps every later one waiting too.
        if (!fill.due || Date.now() > leaseEnds || this.pump.isStopped) return;
        if (!(await this.deliver(fill, deliveryTimeoutMs))) return;
      }
    } finally {
      await this.orm.em.fork().execute('update venue_orders set fill_lease_until = null where order_id = ?', [orderId]);
    }
  }

  /** One delivery; false when it failed and the order's later fills must wait. */
  private async deliver(fill: PendingFill, deliveryTimeoutMs: number): Promise<boolean> {
    const report = {
      tradeId: fill.trade_id,
      quantity: str(fill.quantity),
      price: str(fill.price),
      executedAt: new Date(fill.executed_at).toISOString(),
      correlationId: fill.correlation_id,
    };
    const attempt = fill.delivery_attempts + 1;
    await this.orm.em.fork().execute('update venue_fills set delivery_attempts = ? where trade_id = ?', [attempt, fill.trade_id]);
    try {
      const handle = this.client.workflow.getHandle(orderWorkflowId(fill.order_id));
      const result: ApplyFillResult = await this.client.withDeadline(Date.now() + deliveryTimeoutMs, () =>
        handle.executeUpdate(applyFillUpdate, { args: [report], updateId: `fill-${fill.trade_id}` }),
      );
      if (result.outcome === 'REFUSED') await this.refused(fill, result.reason ?? 'refused by the order');
      else await this.mark(fill, 'DELIVERED', null);
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        // The order's workflow has closed: it applied the fill (from the venue's cancel
        // answer) or it can never apply it.
        const [applied] = await this.orm.em.fork().execute<unknown[]>('select 1 from order_fills where trade_id = ?', [fill.trade_id]);
        if (applied) await this.mark(fill, 'DELIVERED', null);
        else await this.refused(fill, 'order workflow is closed');
        return true;
      }
      const backoffSeconds = Math.min(300, 2 ** Math.min(attempt, 8));
      this.logger.warn({ err, tradeId: fill.trade_id, orderId: fill.order_id, attempt }, 'fill delivery failed; will retry');
      await this.orm.em.fork().transactional(async (em) => {
        await em.execute('update venue_fills set last_error = ? where trade_id = ?', [String((err as Error).message ?? err).slice(0, 2000), fill.trade_id]);
        // This fill and every later one of the order wait together.
        await em.execute(
          `update venue_fills set next_attempt_at = now() + make_interval(secs => ?) where order_id = ? and delivery = 'PENDING' and seq >= ?`,
          [backoffSeconds, fill.order_id, fill.seq],
        );
      });
      return false;
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
