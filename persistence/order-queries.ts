/**
 * Reads of the orders read model, mapped to the OrderSnapshot every reader sees
 * (decimals as canonical strings, times as ISO 8601).
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import { str } from '../domain/decimal';
import type { OrderSnapshot, OrderStatus } from '../domain/order';
import { Order, OrderFill } from './entities';

const d = (v: string | null | undefined): string | null => (v == null ? null : str(v));
const iso = (v: Date | null | undefined): string | null => (v == null ? null : new Date(v).toISOString());

export function toSnapshot(o: Order, fills: OrderFill[]): OrderSnapshot {
  return {
    orderId: o.id,
    clientOrderId: o.clientOrderId,
    accountId: o.accountId,
    symbol: o.symbol,
    side: o.side as OrderSnapshot['side'],
    type: o.type as OrderSnapshot['type'],
    quantity: str(o.quantity),
    limitPrice: d(o.limitPrice),
    timeInForce: o.timeInForce as OrderSnapshot['timeInForce'],
    expireAt: iso(o.expireAt),
    status: o.status as OrderStatus,
    filledQuantity: str(o.filledQuantity),
    leavesQuantity: str(o.leavesQuantity),
    averageFillPrice: d(o.averageFillPrice),
    notional: str(o.notional),
    fees: str(o.fees),
    feeAsset: o.feeAsset ?? null,
    lockedAsset: o.lockedAsset ?? null,
    lockedAmount: str(o.lockedAmount),
    fills: fills.map((f) => ({
      tradeId: f.tradeId,
      quantity: str(f.quantity),
      price: str(f.price),
      fee: str(f.fee),
      feeAsset: f.feeAsset,
      at: new Date(f.executedAt).toISOString(),
    })),
    rejectReason: o.rejectReason ?? null,
    cancelReason: o.cancelReason ?? null,
    createdAt: new Date(o.createdAt).toISOString(),
    updatedAt: new Date(o.updatedAt).toISOString(),
    version: o.version,
  };
}

export async function findOrder(em: EntityManager, orderId: string): Promise<OrderSnapshot | null> {
  const order = await em.findOne(Order, { id: orderId });
  if (!order) return null;
  const fills = await em.find(OrderFill, { orderId }, { orderBy: { orderVersion: 'asc' } });
  return toSnapshot(order, fills);
}

export interface OrderListFilter {
  accountId?: string;
  status?: OrderStatus[];
  limit: number;
  /** Orders created strictly before this one (keyset pagination, newest first). */
  before?: { createdAt: string; id: string };
}

export async function listOrders(em: EntityManager, filter: OrderListFilter): Promise<OrderSnapshot[]> {
  const where: Record<string, unknown> = {};
  if (filter.accountId) where.accountId = filter.accountId;
  if (filter.status?.length) where.status = { $in: filter.status };
  if (filter.before) {
    where.$or = [
      { createdAt: { $lt: new Date(filter.before.createdAt) } },
      { createdAt: new Date(filter.before.createdAt), id: { $lt: filter.before.id } },
    ];
  }
  const orders = await em.find(Order, where, { orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], limit: filter.limit });
  if (orders.length === 0) return [];
  const fills = await em.find(OrderFill, { orderId: { $in: orders.map((o) => o.id) } }, { orderBy: { orderVersion: 'asc' } });
  const byOrder = new Map<string, OrderFill[]>();
  for (const f of fills) byOrder.set(f.orderId, [...(byOrder.get(f.orderId) ?? []), f]);
  return orders.map((o) => toSnapshot(o, byOrder.get(o.id) ?? []));
}
