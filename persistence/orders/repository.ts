/**
 * The orders read model: the rows the order workflow's commits write (the order,
 * optimistically versioned; its fills; its transition history) and the reads every
 * reader shares, mapped to the OrderSnapshot (decimals as canonical strings, times as
 * ISO 8601). The workflow owns the order; these tables are its projection.
 */
import type { FilterQuery } from '@mikro-orm/core';
import type { EntityManager } from '@mikro-orm/postgresql';
import { str } from '../../domain/decimal';
import type { OrderFill as OrderFillRecord, OrderSnapshot, OrderStatus } from '../../domain/order';
import { Order, OrderFillRow, OrderTransition } from './entities';

/** The order without its fills list, as a commit writes it. */
export type OrderRow = Omit<OrderSnapshot, 'fills'>;

export class OrderVersionConflictError extends Error {
  constructor(readonly orderId: string, readonly expected: number, readonly found: number | null) {
    super(`order ${orderId}: expected to write version ${expected} but the read model is at ${found ?? 'nothing'}`);
    this.name = 'OrderVersionConflictError';
  }
}

function columns(o: OrderRow, workflowId: string) {
  return {
    clientOrderId: o.clientOrderId,
    account: o.accountId,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    quantity: o.quantity,
    limitPrice: o.limitPrice,
    timeInForce: o.timeInForce,
    expireAt: o.expireAt ? new Date(o.expireAt) : null,
    status: o.status,
    filledQuantity: o.filledQuantity,
    leavesQuantity: o.leavesQuantity,
    averageFillPrice: o.averageFillPrice,
    notional: o.notional,
    fees: o.fees,
    feeAsset: o.feeAsset,
    lockedAsset: o.lockedAsset,
    lockedAmount: o.lockedAmount,
    rejectReason: o.rejectReason,
    cancelReason: o.cancelReason,
    workflowId,
    version: o.version,
    createdAt: new Date(o.createdAt),
    updatedAt: new Date(o.updatedAt),
  };
}

/**
 * Writes version `order.version` of the order: the first version is inserted, every
 * later one replaces the previous version only. Returns false when this version is
 * already there (a retried commit); throws OrderVersionConflictError when the row is
 * at another version than the one before.
 */
export async function saveOrderVersion(em: EntityManager, order: OrderRow, workflowId: string): Promise<boolean> {
  const values = columns(order, workflowId);
  if (order.version === 1) {
    const inserted = await em.createQueryBuilder(Order).insert({ id: order.orderId, ...values }).onConflict('id').ignore().execute('run');
    return inserted.affectedRows > 0;
  }
  const updated = await em.nativeUpdate(Order, { id: order.orderId, version: order.version - 1 }, values);
  if (updated > 0) return true;
  const current = await em.findOne(Order, { id: order.orderId }, { fields: ['version'], disableIdentityMap: true });
  if (current && current.version >= order.version) return false;
  throw new OrderVersionConflictError(order.orderId, order.version, current?.version ?? null);
}

export async function insertOrderFill(em: EntityManager, orderId: string, version: number, f: OrderFillRecord): Promise<void> {
  await em.insert(OrderFillRow, {
    tradeId: f.tradeId,
    order: orderId,
    quantity: f.quantity,
    price: f.price,
    fee: f.fee,
    feeAsset: f.feeAsset,
    executedAt: new Date(f.at),
    orderVersion: version,
  });
}

export async function insertOrderTransition(
  em: EntityManager,
  orderId: string,
  version: number,
  t: { from: OrderStatus | null; to: OrderStatus; reason: string | null },
  at: string,
): Promise<void> {
  await em.insert(OrderTransition, { order: orderId, version, fromStatus: t.from, toStatus: t.to, reason: t.reason, at: new Date(at) });
}

const d = (v: string | null | undefined): string | null => (v == null ? null : str(v));
const iso = (v: Date | string | null | undefined): string | null => (v == null ? null : new Date(v).toISOString());

/**
 * The order as every reader sees it, without its fills (decimals canonical, times ISO
 * 8601 to the millisecond): from its row as a commit writes it, or as the read model
 * holds it. Order events carry this.
 */
export function canonicalOrder(o: OrderRow): OrderRow {
  return {
    orderId: o.orderId,
    clientOrderId: o.clientOrderId,
    accountId: o.accountId,
    symbol: o.symbol,
    side: o.side,
    type: o.type,
    quantity: str(o.quantity),
    limitPrice: d(o.limitPrice),
    timeInForce: o.timeInForce,
    expireAt: iso(o.expireAt),
    status: o.status,
    filledQuantity: str(o.filledQuantity),
    leavesQuantity: str(o.leavesQuantity),
    averageFillPrice: d(o.averageFillPrice),
    notional: str(o.notional),
    fees: str(o.fees),
    feeAsset: o.feeAsset,
    lockedAsset: o.lockedAsset,
    lockedAmount: str(o.lockedAmount),
    rejectReason: o.rejectReason ?? null,
    cancelReason: o.cancelReason ?? null,
    createdAt: new Date(o.createdAt).toISOString(),
    updatedAt: new Date(o.updatedAt).toISOString(),
    version: o.version,
  };
}

function fillRecord(f: OrderFillRow): OrderFillRecord {
  return {
    tradeId: f.tradeId,
    quantity: str(f.quantity),
    price: str(f.price),
    fee: str(f.fee),
    feeAsset: f.feeAsset.code,
    at: new Date(f.executedAt).toISOString(),
  };
}

/** The order with its fills (populated, in version order), as every reader sees it. */
function toSnapshot(o: Order): OrderSnapshot {
  const order = canonicalOrder({
      orderId: o.id,
      clientOrderId: o.clientOrderId,
      accountId: o.account.id,
      symbol: o.symbol,
      side: o.side,
      type: o.type,
      quantity: o.quantity,
      limitPrice: o.limitPrice ?? null,
      timeInForce: o.timeInForce,
      expireAt: iso(o.expireAt),
      status: o.status,
      filledQuantity: o.filledQuantity,
      leavesQuantity: o.leavesQuantity,
      averageFillPrice: o.averageFillPrice ?? null,
      notional: o.notional,
      fees: o.fees,
      feeAsset: o.feeAsset?.code ?? null,
      lockedAsset: o.lockedAsset?.code ?? null,
      lockedAmount: o.lockedAmount,
      rejectReason: o.rejectReason ?? null,
      cancelReason: o.cancelReason ?? null,
      createdAt: iso(o.createdAt) as string,
      updatedAt: iso(o.updatedAt) as string,
    version: o.version,
  });
  return { ...order, fills: o.fills.getItems().map(fillRecord) };
}

/**
 * Fills are loaded by a second query (select-in), so a page's limit counts orders,
 * not order-and-fill rows. Read past the identity map: a reader must see what the
 * last commit wrote, never an entity an earlier statement of this fork loaded.
 */
const WITH_FILLS = {
  populate: ['fills'],
  populateOrderBy: { fills: { orderVersion: 'asc' } },
  strategy: 'select-in',
  disableIdentityMap: true,
} as const;

export async function findOrder(em: EntityManager, orderId: string): Promise<OrderSnapshot | null> {
  const order = await em.findOne(Order, { id: orderId }, WITH_FILLS);
  return order ? toSnapshot(order) : null;
}

export interface OrderListFilter {
  accountId?: string;
  status?: OrderStatus[];
  limit: number;
  /** Orders created strictly before this one (keyset pagination, newest first). */
  before?: { createdAt: string; id: string };
}

export async function listOrders(em: EntityManager, filter: OrderListFilter): Promise<OrderSnapshot[]> {
  const where: FilterQuery<Order> = {};
  if (filter.accountId) where.account = filter.accountId;
  if (filter.status?.length) where.status = { $in: filter.status };
  if (filter.before) {
    where.$or = [
      { createdAt: { $lt: new Date(filter.before.createdAt) } },
      { createdAt: new Date(filter.before.createdAt), id: { $lt: filter.before.id } },
    ];
  }
  const orders = await em.find(Order, where, { ...WITH_FILLS, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], limit: filter.limit });
  return orders.map(toSnapshot);
}

/** How many orders match (an account's, in some statuses). */
export async function countOrders(em: EntityManager, filter: { accountId: string; status: OrderStatus[] }): Promise<number> {
  return em.count(Order, { account: filter.accountId, status: { $in: filter.status } });
}

/** Whether the order has recorded this trade (the fill reached its order). */
export async function hasOrderFill(em: EntityManager, tradeId: string): Promise<boolean> {
  return (await em.count(OrderFillRow, { tradeId })) > 0;
}
