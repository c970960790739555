/**
 * Brings the simulated venue's fills to their order workflows, through the same
 * OrderClient the API uses (an `applyFill` update whose id is derived from the trade).
 *
 * It leases whole venue orders that have due fills (venue/simulated/fill-feed.ts), so
 * several dispatchers run side by side and only the lease holder delivers an order's
 * pending fills, one after another in trade order, marking each DELIVERED once the
 * workflow answered, or REFUSED when the workflow refused it (an over-fill: logged as
 * an alert for the operator). A failed delivery stops the order there: that fill and
 * every later one of the order wait for the same backoff, so no later fill overtakes
 * an earlier one, across dispatchers and retries. Failures to reach Temporal are
 * retried with exponential backoff; no fill is ever dropped.
 */
import { WorkflowNotFoundError } from '@temporalio/client';
import type { OrderClient } from '../../clients/order-client';
import { PgListener } from '../../persistence/listen';
import { hasOrderFill } from '../../persistence/orders/repository';
import type { Orm } from '../../persistence/orm';
import type { Logger } from '../../runtime/logger';
import { BatchLoop, forEachConcurrently } from '../../runtime/pump';
import { backoffMs } from '../../runtime/timing';
import { SimulatedFillFeed, type PendingFill } from '../../venue/simulated/fill-feed';
import { FILLS_CHANNEL } from '../../venue/simulated/repository';
import type { SimulatedVenueDatabases } from '../../venue/simulated/venue';

/** Orders delivered to in parallel unless configured otherwise (the benchmark's twin sends its fills the same way). */
export const DEFAULT_DELIVERY_CONCURRENCY = 8;

export interface FillDispatcherOptions {
  /** Polling interval, the fallback when a NOTIFY is missed. */
  intervalMs: number;
  /** Wake on the venue's NOTIFY (needs its own connection): the process does, tests drain by hand. */
  databaseUrl?: string;
  batchSize?: number;
  /** Orders delivered to in parallel (fills of one order always go in sequence). */
  concurrency?: number;
  /** How long an order's lease lasts before another dispatcher may take its fills over. */
  leaseSeconds?: number;
  /** How long one delivery may wait for the order's worker before it is retried later. */
  deliveryTimeoutMs?: number;
}

export class FillDispatcher extends BatchLoop {
  private readonly feed: SimulatedFillFeed;
  private readonly listener: PgListener | null;
  private readonly batchSize: number;
  private readonly concurrency: number;
  private readonly leaseSeconds: number;
  private readonly deliveryTimeoutMs: number;
  /** The core's database: whether an order recorded a trade. */
  private readonly orm: Orm;
  private readonly orders: OrderClient;
  private readonly logger: Logger;

  constructor(databases: SimulatedVenueDatabases, orders: OrderClient, logger: Logger, options: FillDispatcherOptions) {
    super(options.intervalMs, (err) => logger.error({ err }, 'fill delivery round failed'));
    this.orm = databases.orm;
    this.orders = orders;
    this.logger = logger;
    this.feed = new SimulatedFillFeed(databases.venueOrm);
    this.batchSize = options.batchSize ?? 200;
    this.concurrency = options.concurrency ?? DEFAULT_DELIVERY_CONCURRENCY;
    this.leaseSeconds = options.leaseSeconds ?? 60;
    this.deliveryTimeoutMs = options.deliveryTimeoutMs ?? 10_000;
    this.listener = options.databaseUrl ? new PgListener(options.databaseUrl, FILLS_CHANNEL, () => this.kick(), logger) : null;
  }

  override async start(): Promise<void> {
    await this.listener?.start();
    await super.start();
  }

  override async stop(): Promise<void> {
    await super.stop();
    await this.listener?.stop();
  }

  /** Leases up to batchSize orders with due fills and delivers each one's fills in order. */
  protected async runBatch(): Promise<boolean> {
    const leased = await this.feed.leaseOrders(this.batchSize, this.leaseSeconds);
    await forEachConcurrently(leased, this.concurrency, (orderId) => this.deliverOrder(orderId));
    return leased.length === this.batchSize;
  }

  /** Delivers one leased order's pending fills in trade order, stopping at the first that fails. */
  private async deliverOrder(orderId: string): Promise<void> {
    // Stop early enough that the lease cannot run out during a delivery.
    const leaseEnds = Date.now() + this.leaseSeconds * 1_000 - this.deliveryTimeoutMs - 1_000;
    try {
      for (const fill of await this.feed.pendingFills(orderId)) {
        // An earlier fill still waiting for its backoff keeps every later one waiting too.
        if (!fill.due || Date.now() > leaseEnds || this.pump.isStopped) return;
        if (!(await this.deliver(fill))) return;
      }
    } finally {
      await this.feed.releaseOrder(orderId);
    }
  }

  /** One delivery; false when it failed and the order's later fills must wait. */
  private async deliver(fill: PendingFill): Promise<boolean> {
    const attempt = fill.attempts + 1;
    await this.feed.countAttempt(fill);
    try {
      const result = await this.orders.applyFill(
        fill.orderId,
        { tradeId: fill.tradeId, quantity: fill.quantity, price: fill.price, executedAt: fill.executedAt, correlationId: fill.correlationId },
        Date.now() + this.deliveryTimeoutMs,
      );
      if (result.outcome === 'REFUSED') await this.refused(fill, result.reason ?? 'refused by the order');
      else await this.feed.markDelivered(fill);
      return true;
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) {
        // The order's workflow has closed: it applied the fill (from the venue's cancel
        // answer) or it can never apply it.
        if (await hasOrderFill(this.orm.em.fork(), fill.tradeId)) await this.feed.markDelivered(fill);
        else await this.refused(fill, 'order workflow is closed');
        return true;
      }
      this.logger.warn({ err, tradeId: fill.tradeId, orderId: fill.orderId, attempt }, 'fill delivery failed; will retry');
      await this.feed.deferFrom(fill, String((err as Error).message ?? err), backoffMs(attempt + 1, 1_000, 300_000) / 1_000);
      return false;
    }
  }

  private async refused(fill: PendingFill, reason: string): Promise<void> {
    this.logger.error({ tradeId: fill.tradeId, orderId: fill.orderId, quantity: fill.quantity, reason }, 'ALERT: fill refused by its order');
    await this.feed.markRefused(fill, reason);
  }
}
