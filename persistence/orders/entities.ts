/**
 * The orders read model (migration 001): the order as the workflow last committed it
 * (optimistically versioned), its fills and its transition history.
 */
import { defineEntity, p, type InferEntity } from '@mikro-orm/core';
import { ORDER_SIDES, ORDER_STATUSES, ORDER_TYPES, TIME_IN_FORCE } from '../../domain/order';
import { Account } from '../accounts/entities';
import { exactDecimal } from '../columns';
import { Asset } from '../reference/entities';

export const Order = defineEntity({
  name: 'Order',
  tableName: 'orders',
  properties: {
    id: p.uuid().primary(),
    clientOrderId: p.text(),
    account: () => p.manyToOne(Account).ref(),
    // No foreign key: an order for an unknown symbol is recorded, then REJECTED.
    symbol: p.text(),
    side: p.enum([...ORDER_SIDES]),
    type: p.enum([...ORDER_TYPES]),
    quantity: exactDecimal(),
    limitPrice: exactDecimal().nullable(),
    timeInForce: p.enum([...TIME_IN_FORCE]),
    expireAt: p.datetime().nullable(),
    status: p.enum([...ORDER_STATUSES]),
    filledQuantity: exactDecimal(),
    leavesQuantity: exactDecimal(),
    averageFillPrice: exactDecimal().nullable(),
    notional: exactDecimal(),
    fees: exactDecimal(),
    feeAsset: () => p.manyToOne(Asset).ref().nullable().joinColumn('fee_asset'),
    lockedAsset: () => p.manyToOne(Asset).ref().nullable().joinColumn('locked_asset'),
    lockedAmount: exactDecimal(),
    rejectReason: p.text().nullable(),
    cancelReason: p.text().nullable(),
    workflowId: p.text(),
    version: p.integer(),
    createdAt: p.datetime(),
    updatedAt: p.datetime(),
    fills: () => p.oneToMany(OrderFillRow).mappedBy('order'),
    transitions: () => p.oneToMany(OrderTransition).mappedBy('order'),
  },
});
export type Order = InferEntity<typeof Order>;

/** The OrderFill table's row (the domain's OrderFill is the business value mapped from it). */
export const OrderFillRow = defineEntity({
  name: 'OrderFill',
  tableName: 'order_fills',
  properties: {
    tradeId: p.text().primary(),
    order: () => p.manyToOne(Order).ref(),
    quantity: exactDecimal(),
    price: exactDecimal(),
    fee: exactDecimal(),
    feeAsset: () => p.manyToOne(Asset).ref().joinColumn('fee_asset'),
    executedAt: p.datetime(),
    orderVersion: p.integer(),
  },
});
export type OrderFillRow = InferEntity<typeof OrderFillRow>;

export const OrderTransition = defineEntity({
  name: 'OrderTransition',
  tableName: 'order_transitions',
  properties: {
    order: () => p.manyToOne(Order).ref().primary(),
    version: p.integer().primary(),
    fromStatus: p.enum([...ORDER_STATUSES]).nullable(),
    toStatus: p.enum([...ORDER_STATUSES]),
    reason: p.text().nullable(),
    at: p.datetime(),
  },
});
export type OrderTransition = InferEntity<typeof OrderTransition>;

export const orderEntities = [Order, OrderFillRow, OrderTransition];
