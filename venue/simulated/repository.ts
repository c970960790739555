/**
 * Every statement on the simulated venue's tables: the book (ticks, orders, fills)
 * for the matching in venue.ts, and the fill delivery queue for fill-feed.ts. All run
 * on the venue's own ORM (database.ts), in the caller's transaction where one is open.
 *
 * Locking reads are entity reads with a lock mode (FOR UPDATE). Raw SQL stays for the
 * tick upsert that counts ticks, the lease claim (an UPDATE over a FOR UPDATE SKIP
 * LOCKED subquery), the attempt counter, backoffs computed on the database's clock, and
 * NOTIFY.
 */
import { LockMode } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { dec, str } from '../../domain/decimal';
import type { VenueFill as VenueFillRecord, VenueOrderRequest } from '../../domain/venue';
import { dbNow, notifyAtCommit, sql } from '../../persistence/sql';
import { VenueFillRow, VenueOrder, VenueRule, VenueTick, type FillDelivery } from './entities';

/** NOTIFY channel: a tick made fills that wait for delivery. */
export const FILLS_CHANNEL = 'venue_fills';

// --- the book -----------------------------------------------------------------

/** The symbol's last tick, locked until commit (matching is serialised per symbol); null before the first. */
export async function lockTick(em: EntityManager, symbol: string): Promise<VenueTick | null> {
  return em.findOne(VenueTick, { symbol }, { lockMode: LockMode.PESSIMISTIC_WRITE });
}

export async function findTick(em: EntityManager, symbol: string): Promise<VenueTick | null> {
  return em.findOne(VenueTick, { symbol }, { disableIdentityMap: true });
}

/** Records a tick: its price and liquidity replace the last tick's; seq counts the symbol's ticks. */
export async function recordTick(em: EntityManager, tick: { symbol: string; price: string; liquidity: string | null }): Promise<void> {
  await sql(
    em,
    `insert into venue_ticks (symbol, price, liquidity_remaining, seq) values (:symbol, :price, :liquidity, 1)
     on conflict (symbol) do update set price = excluded.price, liquidity_remaining = excluded.liquidity_remaining,
       seq = venue_ticks.seq + 1, updated_at = now()`,
    { symbol: tick.symbol, price: tick.price, liquidity: tick.liquidity },
  );
}

export async function setLiquidity(em: EntityManager, symbol: string, liquidityRemaining: string | null): Promise<void> {
  await em.nativeUpdate(VenueTick, { symbol }, { liquidityRemaining });
}

/** Advisory-lock key space of the venue's per-order-id lock (submission against cancel). */
const ORDER_ID_LOCK_SPACE = 74_221_003;

/**
 * Serialises everything the venue does under one order id until commit: a
 * submission and a cancel of the same id never interleave (a cancel that finds no
 * order closes the id before a submission can take it).
 */
export async function lockOrderId(em: EntityManager, orderId: string): Promise<void> {
  await sql(em, 'select pg_advisory_xact_lock(:lockSpace, hashtext(:orderId))', { lockSpace: ORDER_ID_LOCK_SPACE, orderId });
}

/** Closes an order id the venue never received: a later submission under it is refused. */
export async function closeOrderId(em: EntityManager, orderId: string): Promise<void> {
  await sql(em, 'insert into venue_closed_order_ids (order_id) values (:orderId) on conflict do nothing', { orderId });
}

export async function isOrderIdClosed(em: EntityManager, orderId: string): Promise<boolean> {
  return (await sql(em, 'select 1 from venue_closed_order_ids where order_id = :orderId', { orderId })).length > 0;
}

/** The venue's order, locked until commit; null when it was never submitted. */
export async function lockOrder(em: EntityManager, orderId: string): Promise<VenueOrder | null> {
  return em.findOne(VenueOrder, { orderId }, { lockMode: LockMode.PESSIMISTIC_WRITE });
}

/** The symbol's resting orders, locked until commit, in time priority. */
export async function lockRestingOrders(em: EntityManager, symbol: string): Promise<VenueOrder[]> {
  return em.find(VenueOrder, { symbol, status: 'RESTING' }, { orderBy: { priority: 'asc' }, lockMode: LockMode.PESSIMISTIC_WRITE });
}

/** Adds a submitted order to the book with the status its acknowledgement gives it. */
export async function insertOrder(
  em: EntityManager,
  req: VenueOrderRequest,
  outcome: { status: VenueOrder['status']; remaining: string; rejectReason: string | null },
): Promise<void> {
  await em.insert(VenueOrder, {
    orderId: req.orderId,
    symbol: req.symbol,
    side: req.side,
    type: req.type,
    timeInForce: req.timeInForce,
    quantity: req.quantity,
    limitPrice: req.limitPrice,
    protectionPrice: req.protectionPrice,
    remaining: outcome.remaining,
    status: outcome.status,
    submitStatus: outcome.status,
    rejectReason: outcome.rejectReason,
    closedAt: outcome.status === 'RESTING' ? null : dbNow(),
  });
}

/** What is left of a resting order after a fill; with nothing left it is FILLED and closed. */
export async function setRemaining(em: EntityManager, orderId: string, remaining: string): Promise<void> {
  const filled = dec(remaining).isZero();
  await em.nativeUpdate(VenueOrder, { orderId }, { remaining, status: filled ? 'FILLED' : 'RESTING', closedAt: filled ? dbNow() : null });
}

export async function cancelOrder(em: EntityManager, orderId: string): Promise<void> {
  await em.nativeUpdate(VenueOrder, { orderId }, { status: 'CANCELLED', closedAt: dbNow() });
}

/**
 * Records a fill. One made at submission travels in the acknowledgement, so it is
 * DELIVERED at once; one made by a tick waits for the fill dispatcher (PENDING).
 */
export async function insertFill(em: EntityManager, fill: VenueFillRecord, atSubmission: boolean, correlationId: string | null): Promise<void> {
  await em.insert(VenueFillRow, {
    tradeId: fill.tradeId,
    order: fill.orderId,
    quantity: fill.quantity,
    price: fill.price,
    executedAt: new Date(fill.executedAt),
    atSubmission,
    delivery: atSubmission ? 'DELIVERED' : 'PENDING',
    deliveredAt: atSubmission ? dbNow() : null,
    correlationId,
  });
}

/** An order's fills in trade order (only those made at submission, when asked). */
export async function fillsOf(em: EntityManager, orderId: string, which: { atSubmission?: true } = {}): Promise<VenueFillRecord[]> {
  const fills = await em.find(VenueFillRow, { order: orderId, ...which }, { orderBy: { seq: 'asc' }, disableIdentityMap: true });
  return fills.map(toFillRecord);
}

/** A fill row as the venue reports it (decimals canonical, time ISO 8601). */
export function toFillRecord(f: VenueFillRow): VenueFillRecord {
  return {
    tradeId: f.tradeId,
    orderId: f.order.orderId,
    quantity: str(f.quantity),
    price: str(f.price),
    executedAt: new Date(f.executedAt).toISOString(),
  };
}

/** Wakes the fill dispatchers when the caller's transaction commits. */
export async function notifyDispatchers(em: EntityManager): Promise<void> {
  await notifyAtCommit(em, FILLS_CHANNEL);
}

// --- the operator's rules ---------------------------------------------------------

export interface VenueRules {
  refuseCancels: boolean;
  rejectSubmissions: string | null;
}

/** The symbol's rules (none set: cancels and submissions are taken). */
export async function findRules(em: EntityManager, symbol: string): Promise<VenueRules> {
  const rule = await em.findOne(VenueRule, { symbol }, { disableIdentityMap: true });
  return { refuseCancels: rule?.refuseCancels ?? false, rejectSubmissions: rule?.rejectSubmissions ?? null };
}

export async function saveRules(em: EntityManager, symbol: string, rules: VenueRules): Promise<void> {
  await em.upsert(VenueRule, { symbol, refuseCancels: rules.refuseCancels, rejectSubmissions: rules.rejectSubmissions, updatedAt: dbNow() });
}

// --- retention ---------------------------------------------------------------------

/**
 * Deletes closed venue orders that closed before `before`, with their fills, when
 * every fill is reflected in the order's fills (order_fills, the core's table in the
 * same database): nothing a delivery, a retried cancel or a reconciliation still
 * needs. A fill the order refused keeps its venue order. Up to `limit` orders; returns
 * the fills and orders deleted.
 */
export async function pruneReflectedFills(em: EntityManager, before: Date, limit: number): Promise<{ fills: number; orders: number }> {
  const [row] = await sql<{ fills: number; orders: number }>(
    em,
    `with doomed as (
       select vo.order_id from venue_orders vo
       where vo.status <> 'RESTING' and vo.closed_at < :before
         and not exists (
           select 1 from venue_fills f where f.order_id = vo.order_id
             and (f.delivery <> 'DELIVERED' and not f.at_submission
                  or not exists (select 1 from order_fills o where o.trade_id = f.trade_id::text)))
       order by vo.closed_at limit :limit),
     fills as (delete from venue_fills f using doomed d where f.order_id = d.order_id returning 1),
     orders as (delete from venue_orders vo using doomed d where vo.order_id = d.order_id returning 1)
     select (select count(*) from fills)::int as fills, (select count(*) from orders)::int as orders`,
    { before: before.toISOString(), limit },
  );
  return row;
}

// --- the fill delivery queue ------------------------------------------------------

/**
 * Leases up to `limit` venue orders that have due fills, for `leaseSeconds`; returns
 * their ids. The lease is exclusive by construction: a dispatcher that updates the
 * same order row at the same time waits for the first one's commit, then finds the
 * lease taken and leaves the row alone. It does not skip locked rows: a cancel or a
 * tick holding an order row for a moment must not make that order's fills wait a
 * whole polling interval.
 */
export async function leaseOrders(em: EntityManager, limit: number, leaseSeconds: number): Promise<string[]> {
  const rows = await sql<{ order_id: string }>(
    em,
    `update venue_orders set fill_lease_until = now() + make_interval(secs => :leaseSeconds)
     where order_id in (
       select o.order_id from venue_orders o
       where o.order_id in (select f.order_id from venue_fills f where f.delivery = 'PENDING' and f.next_attempt_at <= now())
         and (o.fill_lease_until is null or o.fill_lease_until <= now())
       limit :limit)
     returning order_id`,
    { leaseSeconds, limit },
  );
  return rows.map((r) => r.order_id);
}

export async function releaseOrder(em: EntityManager, orderId: string): Promise<void> {
  await em.nativeUpdate(VenueOrder, { orderId }, { fillLeaseUntil: null });
}

/** An order's undelivered fills, in trade order, each knowing whether its next attempt is due. */
export async function pendingFills(em: EntityManager, orderId: string): Promise<VenueFillRow[]> {
  return em.find(VenueFillRow, { order: orderId, delivery: 'PENDING' }, { orderBy: { seq: 'asc' }, populate: ['due'], disableIdentityMap: true });
}

export async function countAttempt(em: EntityManager, tradeId: string): Promise<void> {
  await sql(em, 'update venue_fills set delivery_attempts = delivery_attempts + 1 where trade_id = :tradeId', { tradeId });
}

export async function markFill(em: EntityManager, tradeId: string, delivery: Exclude<FillDelivery, 'PENDING'>, error: string | null): Promise<void> {
  await em.nativeUpdate(VenueFillRow, { tradeId }, { delivery, lastError: error, deliveredAt: dbNow() });
}

/** A failed delivery: this fill and every later one of its order wait `delaySeconds` together. */
export async function deferFrom(em: EntityManager, fill: { tradeId: string; orderId: string; seq: string }, error: string, delaySeconds: number): Promise<void> {
  await em.nativeUpdate(VenueFillRow, { tradeId: fill.tradeId }, { lastError: error.slice(0, 2000) });
  await sql(
    em,
    `update venue_fills set next_attempt_at = now() + make_interval(secs => :delaySeconds)
     where order_id = :orderId and delivery = 'PENDING' and seq >= :seq`,
    { delaySeconds, orderId: fill.orderId, seq: fill.seq },
  );
}
