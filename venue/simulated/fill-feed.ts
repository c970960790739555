/**
 * The simulated venue's outgoing fills, as a queue its fill dispatcher works through.
 * A tick's fills are committed with delivery PENDING in the same transaction as the
 * match (and a NOTIFY on FILLS_CHANNEL wakes the dispatcher). The feed hands out
 * whole venue orders under a lease, so only one dispatcher at a time delivers an
 * order's fills, in trade order, and it owns the SQL on the venue's tables.
 */
import { str } from '../../domain/decimal';
import type { Orm } from '../../persistence/orm';

/** NOTIFY channel: a tick made fills that wait for delivery. */
export const FILLS_CHANNEL = 'venue_fills';

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

interface PendingFillRow {
  trade_id: string;
  order_id: string;
  quantity: string;
  price: string;
  executed_at: Date | string;
  seq: string;
  delivery_attempts: number;
  correlation_id: string | null;
  due: boolean;
}

export class SimulatedFillFeed {
  constructor(private readonly orm: Orm) {}

  /**
   * Leases up to `limit` venue orders that have due fills, for `leaseSeconds`; returns
   * their ids. The lease is exclusive by construction: a dispatcher that updates the
   * same order row at the same time waits for the first one's commit, then finds the
   * lease taken and leaves the row alone. (It does not skip locked rows: a cancel or a
   * tick holding an order row for a moment must not make the order's fills wait a
   * whole polling interval.)
   */
  async leaseOrders(limit: number, leaseSeconds: number): Promise<string[]> {
    const rows = await this.orm.em.fork().execute<{ order_id: string }[]>(
      `update venue_orders set fill_lease_until = now() + make_interval(secs => ?)
       where order_id in (
         select o.order_id from venue_orders o
         where o.order_id in (select f.order_id from venue_fills f where f.delivery = 'PENDING' and f.next_attempt_at <= now())
           and (o.fill_lease_until is null or o.fill_lease_until <= now())
         limit ?)
       returning order_id`,
      [leaseSeconds, limit],
    );
    return rows.map((r) => r.order_id);
  }

  async releaseOrder(orderId: string): Promise<void> {
    await this.orm.em.fork().execute('update venue_orders set fill_lease_until = null where order_id = ?', [orderId]);
  }

  /** An order's undelivered fills, in trade order. */
  async pendingFills(orderId: string): Promise<PendingFill[]> {
    const rows = await this.orm.em.fork().execute<PendingFillRow[]>(
      `select trade_id, order_id, quantity, price, executed_at, seq, delivery_attempts, correlation_id, next_attempt_at <= now() as due
       from venue_fills where order_id = ? and delivery = 'PENDING' order by seq`,
      [orderId],
    );
    return rows.map((r) => ({
      tradeId: r.trade_id,
      orderId: r.order_id,
      quantity: str(r.quantity),
      price: str(r.price),
      executedAt: new Date(r.executed_at).toISOString(),
      seq: String(r.seq),
      attempts: r.delivery_attempts,
      correlationId: r.correlation_id,
      due: r.due,
    }));
  }

  async countAttempt(fill: PendingFill): Promise<void> {
    await this.orm.em.fork().execute('update venue_fills set delivery_attempts = delivery_attempts + 1 where trade_id = ?', [fill.tradeId]);
  }

  async markDelivered(fill: PendingFill): Promise<void> {
    await this.mark(fill, 'DELIVERED', null);
  }

  async markRefused(fill: PendingFill, reason: string): Promise<void> {
    await this.mark(fill, 'REFUSED', reason);
  }

  /** A failed delivery: this fill and every later one of its order wait `delaySeconds` together. */
  async deferFrom(fill: PendingFill, error: string, delaySeconds: number): Promise<void> {
    await this.orm.em.fork().transactional(async (em) => {
      await em.execute('update venue_fills set last_error = ? where trade_id = ?', [error.slice(0, 2000), fill.tradeId]);
      await em.execute(
        `update venue_fills set next_attempt_at = now() + make_interval(secs => ?) where order_id = ? and delivery = 'PENDING' and seq >= ?`,
        [delaySeconds, fill.orderId, fill.seq],
      );
    });
  }

  private async mark(fill: PendingFill, delivery: 'DELIVERED' | 'REFUSED', error: string | null): Promise<void> {
    await this.orm.em
      .fork()
      .execute('update venue_fills set delivery = ?, last_error = ?, delivered_at = now() where trade_id = ?', [delivery, error, fill.tradeId]);
  }
}
