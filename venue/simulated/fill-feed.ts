/**
 * The simulated venue's outgoing fills, as a queue its fill dispatcher works through.
 * A tick's fills are committed with delivery PENDING in the same transaction as the
 * match (and a NOTIFY on FILLS_CHANNEL, repository.ts, wakes the dispatcher). The feed hands out
 * whole venue orders under a lease, so only one dispatcher at a time delivers an
 * order's fills, in trade order. Its statements are the venue repository's.
 */
import type { VenueOrm } from './database';
import * as queue from './repository';

export interface PendingFill {
  tradeId: string;
  orderId: string;
  quantity: string;
  price: string;
  executedAt: string;
  seq: string;
  /** Delivery attempts made before this one. */
  attempts: number;
  correlationId: string | null;
  /** Its next attempt is due now (not waiting for a backoff). */
  due: boolean;
}

export class SimulatedFillFeed {
  constructor(private readonly venueOrm: VenueOrm) {}

  /** Leases up to `limit` venue orders that have due fills (see the repository's leaseOrders). */
  async leaseOrders(limit: number, leaseSeconds: number): Promise<string[]> {
    return queue.leaseOrders(this.venueOrm.em.fork(), limit, leaseSeconds);
  }

  async releaseOrder(orderId: string): Promise<void> {
    await queue.releaseOrder(this.venueOrm.em.fork(), orderId);
  }

  /** An order's undelivered fills, in trade order. */
  async pendingFills(orderId: string): Promise<PendingFill[]> {
    const fills = await queue.pendingFills(this.venueOrm.em.fork(), orderId);
    return fills.map((f) => ({
      ...queue.toFillRecord(f),
      seq: String(f.seq),
      attempts: f.deliveryAttempts,
      correlationId: f.correlationId ?? null,
      due: f.due,
    }));
  }

  async countAttempt(fill: PendingFill): Promise<void> {
    await queue.countAttempt(this.venueOrm.em.fork(), fill.tradeId);
  }

  async markDelivered(fill: PendingFill): Promise<void> {
    await queue.markFill(this.venueOrm.em.fork(), fill.tradeId, 'DELIVERED', null);
  }

  async markRefused(fill: PendingFill, reason: string): Promise<void> {
    await queue.markFill(this.venueOrm.em.fork(), fill.tradeId, 'REFUSED', reason);
  }

  /** A failed delivery: this fill and every later one of its order wait `delaySeconds` together. */
  async deferFrom(fill: PendingFill, error: string, delaySeconds: number): Promise<void> {
    await this.venueOrm.em.fork().transactional((em) => queue.deferFrom(em, fill, error, delaySeconds));
  }
}
