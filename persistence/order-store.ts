/**
 * The orders read model. The workflow owns the order; every change it makes is
 * committed here by an activity, in ONE database transaction with the ledger
 * entries it implies: the order row (optimistically versioned), the fill, the
 * transition history and the ledger transaction commit together or not at all.
 *
 * Idempotent by (order id, version): an activity retried after its commit finds the
 * version already there and changes nothing.
 */
import type { EntityManager } from '@mikro-orm/postgresql';
import type { Posting } from '../domain/funds';
import type { OrderFill, OrderSnapshot, OrderStatus } from '../domain/order';
import { orderChangeEvents } from '../events/order-events';
import { appendEvents, type EventContext } from '../events/outbox';
import { Instrument } from './entities';
import { postLedgerTransaction } from './ledger';
import { findOrder } from './order-queries';

/** The order without its fills list (fills are committed one at a time). */
export type OrderState = Omit<OrderSnapshot, 'fills'>;

export interface OrderChange {
  /** The order after the change; order.version is this change's number (1 = created). */
  order: OrderState;
  workflowId: string;
  transition: { from: OrderStatus | null; to: OrderStatus; reason: string | null } | null;
  /** Ledger postings this change makes (lock, fill settlement, release); may be empty. */
  postings: Posting[];
  /** What the ledger transaction is (LOCK, FILL, RELEASE...), when there are postings. */
  ledgerKind: string | null;
  fill: OrderFill | null;
  /** Who caused the change, for its events' correlation and causation ids. */
  context: EventContext;
}

export class OrderVersionConflictError extends Error {
  constructor(readonly orderId: string, readonly expected: number, readonly found: number | null) {
    super(`order ${orderId}: expected to write version ${expected} but the read model is at ${found ?? 'nothing'}`);
    this.name = 'OrderVersionConflictError';
  }
}

export function ledgerKeyFor(orderId: string, version: number): string {
  return `order:${orderId}:v${version}`;
}

function row(change: OrderChange) {
  const o = change.order;
  return [
    o.clientOrderId,
    o.accountId,
    o.symbol,
    o.side,
    o.type,
    o.quantity,
    o.limitPrice,
    o.timeInForce,
    o.expireAt,
    o.status,
    o.filledQuantity,
    o.leavesQuantity,
    o.averageFillPrice,
    o.notional,
    o.fees,
    o.feeAsset,
    o.lockedAsset,
    o.lockedAmount,
    o.rejectReason,
    o.cancelReason,
    change.workflowId,
    o.version,
    o.createdAt,
    o.updatedAt,
  ];
}

const COLUMNS = `client_order_id, account_id, symbol, side, type, quantity, limit_price, time_in_force, expire_at,
  status, filled_quantity, leaves_quantity, average_fill_price, notional, fees, fee_asset, locked_asset, locked_amount,
  reject_reason, cancel_reason, workflow_id, version, created_at, updated_at`;

/**
 * Commits one order change. Returns false when this version was committed before
 * (a retry), true when it was applied now. Throws InsufficientFundsError (nothing
 * committed) when the ledger cannot cover the postings.
 */
export async function commitOrderChange(em: EntityManager, change: OrderChange): Promise<boolean> {
  return em.transactional(async (tx) => {
    const { order } = change;
    const values = row(change);
    if (order.version === 1) {
      const inserted = await tx.execute<unknown[]>(
        `insert into orders (id, ${COLUMNS}) values (?, ${values.map(() => '?').join(', ')})
         on conflict (id) do nothing returning id`,
        [order.orderId, ...values],
      );
      if (inserted.length === 0) return false;
    } else {
      const sets = COLUMNS.split(',')
        .map((c) => `${c.trim()} = ?`)
        .join(', ');
      const updated = await tx.execute<unknown[]>(
        `update orders set ${sets} where id = ? and version = ? returning id`,
        [...values, order.orderId, order.version - 1],
      );
      if (updated.length === 0) {
        const [current] = await tx.execute<{ version: number }[]>('select version from orders where id = ?', [order.orderId]);
        if (current && current.version >= order.version) return false;
        throw new OrderVersionConflictError(order.orderId, order.version, current?.version ?? null);
      }
    }

    if (change.postings.length > 0) {
      await postLedgerTransaction(tx, {
        idempotencyKey: ledgerKeyFor(order.orderId, order.version),
        kind: change.ledgerKind ?? 'ORDER',
        accountId: order.accountId,
        orderId: order.orderId,
        reference: change.fill ? `trade:${change.fill.tradeId}` : `order:${order.orderId}`,
        fingerprint: ledgerKeyFor(order.orderId, order.version),
        postings: change.postings,
      });
    }

    if (change.fill) {
      const f = change.fill;
      await tx.execute(
        `insert into order_fills (trade_id, order_id, quantity, price, fee, fee_asset, executed_at, order_version)
         values (?, ?, ?, ?, ?, ?, ?, ?)`,
        [f.tradeId, order.orderId, f.quantity, f.price, f.fee, f.feeAsset, f.at, order.version],
      );
    }

    if (change.transition) {
      const t = change.transition;
      await tx.execute(
        'insert into order_transitions (order_id, version, from_status, to_status, reason, at) values (?, ?, ?, ?, ?, ?)',
        [order.orderId, order.version, t.from, t.to, t.reason, order.updatedAt],
      );
    }

    // The change's events, in the same transaction (the outbox).
    const snapshot = (await findOrder(tx, order.orderId)) as OrderSnapshot;
    const instrument = change.fill ? await tx.findOne(Instrument, { symbol: order.symbol }) : null;
    const key = ledgerKeyFor(order.orderId, order.version);
    const drafts = orderChangeEvents({ order: snapshot, transition: change.transition, postings: change.postings, fill: change.fill, instrument }, key);
    await appendEvents(tx, key, drafts, change.context);
    return true;
  });
}
